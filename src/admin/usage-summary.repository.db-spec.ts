import { unixSeconds } from '../clickhouse/datetime.js';
import { type AdoptedServices, adoptedServices } from '../../test/support/services.js';
import { usageRecordFixture } from '../../test/support/usage-record.js';
import { resolveDayRange } from './usage-day-range.js';
import { UsageSummaryRepository } from './usage-summary.repository.js';

const at = (iso: string) => unixSeconds(new Date(iso));
const range = (start_date: string, end_date: string) => resolveDayRange({ start_date, end_date });

describe(UsageSummaryRepository.name, () => {
  let adopted: AdoptedServices;
  let repository: UsageSummaryRepository;

  beforeAll(async () => {
    adopted = await adoptedServices('admin_summary');
    repository = new UsageSummaryRepository(adopted.clickhouse);
    await adopted.usage.insert([
      // 20 calls of 1..20 ms at noon, two of them failed.
      ...Array.from({ length: 20 }, (_, index) =>
        usageRecordFixture({ tool_name: 'a', duration_ms: index + 1, record_count: 1, is_error: index < 2 ? 1 : 0, created_at: at('2026-03-10T12:00:00Z') }),
      ),
      // The last second of the UTC day (already the next day in Asia/Shanghai), one duration negative.
      ...[-5, 3, 4].map((duration) => usageRecordFixture({ tool_name: 'b', duration_ms: duration, record_count: 10, created_at: at('2026-03-10T23:59:59Z') })),
      usageRecordFixture({ tool_name: 'before', created_at: at('2026-03-09T23:59:59Z') }),
      usageRecordFixture({ tool_name: 'after', created_at: at('2026-03-11T00:00:00Z') }),
    ]);
  });

  afterAll(async () => {
    await adopted.close();
  });

  it('should count one UTC day exactly, its first and last second included and nothing around it', async () => {
    // Durations 0, 1..20, 3, 4 sorted: quantileTiming takes the value at floor(level × 23), index 11 and 21.
    expect(await repository.totals(range('2026-03-10', '2026-03-10'))).toEqual({ calls: 23, records: 50, errors: 2, p50_ms: 9, p95_ms: 19 });
  });

  it('should group by tool, most records first, with each group’s percentiles (a negative duration counting as 0 ms)', async () => {
    expect(await repository.grouped(range('2026-03-10', '2026-03-10'), 'tool', 10)).toEqual([
      { key: 'b', calls: 3, records: 30, errors: 0, p50_ms: 3, p95_ms: 4 },
      { key: 'a', calls: 20, records: 20, errors: 2, p50_ms: 11, p95_ms: 20 },
    ]);
  });

  it('should group by UTC day whatever the server’s time zone', async () => {
    const days = await repository.grouped(range('2026-03-09', '2026-03-11'), 'day', 10);
    expect(days.map(({ key, calls, records }) => ({ key, calls, records }))).toEqual([
      { key: '2026-03-10', calls: 23, records: 50 },
      { key: '2026-03-09', calls: 1, records: 1 },
      { key: '2026-03-11', calls: 1, records: 1 },
    ]);
  });

  it('should stop at the limit', async () => {
    expect((await repository.grouped(range('2026-03-10', '2026-03-10'), 'tool', 1)).map((row) => row.key)).toEqual(['b']);
  });

  it('should give zeros and null percentiles for a range without calls', async () => {
    expect(await repository.totals(range('2026-04-01', '2026-04-30'))).toEqual({ calls: 0, records: 0, errors: 0, p50_ms: null, p95_ms: null });
    expect(await repository.grouped(range('2026-04-01', '2026-04-30'), 'user', 10)).toEqual([]);
  });
});
