import { randomUUID } from 'node:crypto';
import { unixSeconds } from '../clickhouse/datetime.js';
import { type AdoptedServices, adoptedServices } from '../../test/support/services.js';
import { usageRecordFixture } from '../../test/support/usage-record.js';
import type { UsageRecord } from './usage-record.js';
import { type HistoryFilter, type HourCount, UsageRepository, locatePage } from './usage.repository.js';

const at = (iso: string) => new Date(`${iso}Z`);

/** A record of one tool call by `userId` at `createdAt` (ISO, UTC, without the Z). */
function usage(userId: string, id: string, createdAt: string, changes: Partial<UsageRecord> = {}): UsageRecord {
  return usageRecordFixture({
    id,
    user_id: userId,
    api_key_id: `key-of-${userId}`,
    tool_name: 'get_daily_bars',
    service_prefix: 'tushare_daily',
    table_name: 'ods_daily',
    arguments: '{"ts_code":"000001.SZ"}',
    duration_ms: 12,
    created_at: unixSeconds(at(createdAt)),
    ...changes,
  });
}

describe(UsageRepository.name, () => {
  let services: AdoptedServices;
  let repository: UsageRepository;

  /** Everything the read methods report for one filter, as the REST endpoints would show it. */
  async function readAll(filter: HistoryFilter) {
    const [hours, page, daily, topTools, topTables] = await Promise.all([
      repository.hourlyCounts(filter),
      repository.page(filter, 100, 0),
      repository.daily(filter),
      repository.topTools(filter, 10),
      repository.topTables(filter, 10),
    ]);
    return { count: hours.reduce((sum, hour) => sum + hour.calls, 0), page, daily, topTools, topTables };
  }

  const ids = (rows: { id: string }[]) => rows.map((row) => row.id);

  beforeAll(async () => {
    services = await adoptedServices('usage');
    repository = services.usage;
  });

  afterAll(async () => {
    await services.close();
  });

  it('should store and read back every column of a record, in the original service\'s column set', async () => {
    const userId = randomUUID();
    const record = usage(userId, randomUUID(), '2026-11-25T10:00:00', { record_count: 5, is_error: 1, error_message: 'boom' });
    await repository.insert([record]);

    expect(await repository.page({ userId }, 10, 0)).toEqual([record]);
  });

  it('should report per hour, per UTC day and per tool', async () => {
    const userId = randomUUID();
    const batch = [
      usage(userId, 'call-1', '2026-11-24T09:00:00', { record_count: 5 }),
      usage(userId, 'call-2', '2026-11-25T10:00:00', { record_count: 7 }),
      usage(userId, 'call-3', '2026-11-25T10:59:59', { tool_name: 'search_stocks', service_prefix: 'tushare_stock_basic', table_name: 'ods_stock_basic', record_count: 0, is_error: 1, error_message: 'ts_code not found' }),
    ];
    await repository.insert(batch);

    expect(await repository.hourlyCounts({ userId })).toEqual([
      { hour: unixSeconds(at('2026-11-25T10:00:00')), calls: 2 },
      { hour: unixSeconds(at('2026-11-24T09:00:00')), calls: 1 },
    ]);
    expect(await readAll({ userId })).toEqual({
      count: 3,
      page: [batch[2], batch[1], batch[0]],
      daily: [
        { date: '2026-11-24', call_count: 1, total_records: 5, error_count: 0 },
        { date: '2026-11-25', call_count: 2, total_records: 7, error_count: 1 },
      ],
      topTools: [
        { tool_name: 'get_daily_bars', table_name: 'ods_daily', call_count: 2, total_records: 12 },
        { tool_name: 'search_stocks', table_name: 'ods_stock_basic', call_count: 1, total_records: 0 },
      ],
      topTables: [
        { table_name: 'ods_daily', call_count: 2, total_records: 12 },
        { table_name: 'ods_stock_basic', call_count: 1, total_records: 0 },
      ],
    });
  });

  it('should narrow every read to one key', async () => {
    const userId = randomUUID();
    const [keyA, keyB] = [randomUUID(), randomUUID()];
    await repository.insert([
      { ...usage(userId, 'a-1', '2026-11-25T10:00:00', { record_count: 4 }), api_key_id: keyA },
      { ...usage(userId, 'b-1', '2026-11-25T10:01:00', { record_count: 9, tool_name: 'search_stocks', table_name: 'ods_stock_basic' }), api_key_id: keyB },
    ]);
    const seen = await readAll({ userId, apiKeyId: keyB });
    expect(seen.count).toBe(1);
    expect(ids(seen.page)).toEqual(['b-1']);
    expect(seen.daily).toEqual([{ date: '2026-11-25', call_count: 1, total_records: 9, error_count: 0 }]);
    expect(seen.topTables).toEqual([{ table_name: 'ods_stock_basic', call_count: 1, total_records: 9 }]);
  });

  it("should never return another user's records", async () => {
    const alice = randomUUID();
    const bob = randomUUID();
    await repository.insert([
      usage(alice, 'alice-1', '2026-11-25T10:00:00', { record_count: 3 }),
      usage(bob, 'bob-1', '2026-11-25T10:00:00', { record_count: 40 }),
      usage(bob, 'bob-2', '2026-11-25T10:30:00', { record_count: 2, tool_name: 'search_stocks', table_name: 'ods_stock_basic' }),
    ]);

    const seenByAlice = await readAll({ userId: alice });

    expect(seenByAlice.count).toBe(1);
    expect(ids(seenByAlice.page)).toEqual(['alice-1']);
    expect(seenByAlice.daily).toEqual([{ date: '2026-11-25', call_count: 1, total_records: 3, error_count: 0 }]);
    expect(seenByAlice.topTools).toEqual([{ tool_name: 'get_daily_bars', table_name: 'ods_daily', call_count: 1, total_records: 3 }]);
    expect(await repository.hourlyCounts({ userId: randomUUID() })).toEqual([]);
  });

  it('should include records at `from` and exclude records at `until`', async () => {
    const userId = randomUUID();
    await repository.insert([
      usage(userId, 'before', '2026-10-31T23:59:59', { record_count: 1 }),
      usage(userId, 'at-from', '2026-11-01T00:00:00', { record_count: 2 }),
      usage(userId, 'last-second', '2026-11-01T23:59:59', { record_count: 4 }),
      usage(userId, 'at-until', '2026-11-02T00:00:00', { record_count: 8 }),
    ]);

    const november1 = await readAll({ userId, from: at('2026-11-01T00:00:00'), until: at('2026-11-02T00:00:00') });

    expect(november1.count).toBe(2);
    expect(ids(november1.page)).toEqual(['last-second', 'at-from']);
    expect(november1.daily).toEqual([{ date: '2026-11-01', call_count: 2, total_records: 6, error_count: 0 }]);
    expect(ids(await repository.page({ userId, from: at('2026-11-01T00:00:00') }, 100, 0))).toEqual(['at-until', 'last-second', 'at-from']);
    expect(ids(await repository.page({ userId, until: at('2026-11-02T00:00:00') }, 100, 0))).toEqual(['last-second', 'at-from', 'before']);
  });

  it('should page newest first, then by id, descending', async () => {
    const userId = randomUUID();
    await repository.insert([
      usage(userId, 'a', '2026-11-25T10:00:00'),
      usage(userId, 'c', '2026-11-25T09:00:00'),
      usage(userId, 'b', '2026-11-25T10:00:00'),
      usage(userId, 'd', '2026-11-25T11:00:00'),
    ]);

    expect(ids(await repository.page({ userId }, 2, 0))).toEqual(['d', 'b']);
    expect(ids(await repository.page({ userId }, 2, 2))).toEqual(['a', 'c']);
    expect(await repository.page({ userId }, 2, 4)).toEqual([]);
  });

  it('should filter by tool name', async () => {
    const userId = randomUUID();
    await repository.insert([
      usage(userId, 'bars', '2026-11-25T10:00:00', { record_count: 9 }),
      usage(userId, 'basic', '2026-11-25T10:00:01', { tool_name: 'search_stocks', table_name: 'ods_stock_basic' }),
    ]);

    const bars = await readAll({ userId, toolName: 'get_daily_bars' });

    expect(bars.count).toBe(1);
    expect(ids(bars.page)).toEqual(['bars']);
    expect(bars.topTools).toEqual([{ tool_name: 'get_daily_bars', table_name: 'ods_daily', call_count: 1, total_records: 9 }]);
  });

  it('should tell which records of a batch are stored already', async () => {
    const userId = randomUUID();
    const stored = [usage(userId, randomUUID(), '2026-11-25T10:00:00'), usage(userId, randomUUID(), '2026-11-25T12:00:00')];
    const missing = [usage(userId, randomUUID(), '2026-11-25T11:00:00'), usage(randomUUID(), randomUUID(), '2026-11-25T11:00:00')];
    await repository.insert(stored);

    expect(await repository.storedIds([...stored, ...missing])).toEqual(new Set(ids(stored)));
    expect(await repository.storedIds([])).toEqual(new Set());
    expect(await repository.isRunning(`usage-batch-${randomUUID()}`)).toBe(false);
  });
});

describe(locatePage.name, () => {
  const hour = (index: number) => 1_800_000_000 - index * 3600;
  // Newest first: 3 calls in the newest hour, then 0..4 calls an hour.
  const hours: HourCount[] = [
    { hour: hour(0), calls: 3 },
    { hour: hour(1), calls: 5 },
    { hour: hour(3), calls: 2 },
    { hour: hour(4), calls: 4 },
  ];
  const filter = { userId: 'u' };
  const bounds = (from: number, until: number) => ({ from: new Date(from * 1000), until: new Date(until * 1000) });

  it('should narrow the first page to the newest hours that hold it', () => {
    expect(locatePage(filter, hours, 0, 2)).toEqual({ filter: { userId: 'u', ...bounds(hour(0), hour(0) + 3600) }, offset: 0 });
    expect(locatePage(filter, hours, 0, 4)).toEqual({ filter: { userId: 'u', ...bounds(hour(1), hour(0) + 3600) }, offset: 0 });
  });

  it('should skip whole hours before the page and keep the offset within the first hour it reads', () => {
    expect(locatePage(filter, hours, 3, 5)).toEqual({ filter: { userId: 'u', ...bounds(hour(1), hour(1) + 3600) }, offset: 0 });
    expect(locatePage(filter, hours, 9, 3)).toEqual({ filter: { userId: 'u', ...bounds(hour(4), hour(3) + 3600) }, offset: 1 });
  });

  it('should find nothing past the last call', () => {
    expect(locatePage(filter, hours, 14, 5)).toBeUndefined();
    expect(locatePage(filter, [], 0, 5)).toBeUndefined();
  });

  it('should keep the caller\'s narrower bounds', () => {
    const narrow = { userId: 'u', ...bounds(hour(0) + 60, hour(0) + 120) };
    expect(locatePage(narrow, hours, 0, 2)).toEqual({ filter: narrow, offset: 0 });
  });
});
