import { randomUUID } from 'node:crypto';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { MigrationRunner } from '../clickhouse/migration-runner.js';
import { formatDateTime, sql, str } from '../clickhouse/sql.js';
import { loadAppConfig } from '../config/app-config.js';
import { clickHouseUrl, dropDatabase, uniqueDatabaseName } from '../../test/support/clickhouse.js';
import { usageRecordFixture } from '../../test/support/usage-record.js';
import type { UsageRecord } from './usage-record.js';
import { type HistoryFilter, UsageRepository } from './usage.repository.js';

const at = (iso: string) => new Date(`${iso}Z`);

/** A record of one tool call by `userId` at `createdAt` (ISO, UTC, without the Z). */
function usage(userId: string, id: string, createdAt: string, changes: Partial<UsageRecord> = {}): UsageRecord {
  return usageRecordFixture({
    id,
    user_id: userId,
    api_key_id: `key-of-${userId}`,
    tool_name: 'get_daily_bars',
    table_name: 'ods_daily',
    arguments: '{"ts_code":"000001.SZ"}',
    duration_ms: 12,
    created_at: formatDateTime(at(createdAt)),
    ...changes,
  });
}

describe(UsageRepository.name, () => {
  const database = uniqueDatabaseName('usage');
  let clickhouse: ClickHouseService;
  let repository: UsageRepository;

  /** Everything the four read methods report for one filter, as the REST endpoints would show it. */
  async function readAll(filter: HistoryFilter) {
    const [count, page, daily, topTools] = await Promise.all([
      repository.count(filter),
      repository.page(filter, 100, 0),
      repository.daily(filter),
      repository.topTools(filter, 10),
    ]);
    return { count, page, daily, topTools };
  }

  const ids = (rows: { id: string }[]) => rows.map((row) => row.id);

  beforeAll(async () => {
    clickhouse = new ClickHouseService(loadAppConfig({ CLICKHOUSE_URL: clickHouseUrl(), CLICKHOUSE_DATABASE: database }));
    await new MigrationRunner(clickhouse).run();
    // Keeps both copies of a retried batch as separate parts, so only the queries can hide the duplicate.
    await clickhouse.command(sql`SYSTEM STOP MERGES mcp_tool_usage_log`);
    repository = new UsageRepository(clickhouse);
  });

  afterAll(async () => {
    await clickhouse.onApplicationShutdown();
    await dropDatabase(database);
  });

  it('should count a batch inserted twice only once', async () => {
    const userId = randomUUID();
    const batch = [
      usage(userId, 'call-1', '2026-11-24T09:00:00', { record_count: 5 }),
      usage(userId, 'call-2', '2026-11-25T10:00:00', { record_count: 7 }),
      usage(userId, 'call-3', '2026-11-25T11:00:00', {
        tool_name: 'get_stock_basic',
        table_name: 'ods_stock_basic',
        record_count: 0,
        is_error: 1,
        error_message: 'ts_code not found',
      }),
    ];
    const expected = {
      count: 3,
      page: [batch[2], batch[1], batch[0]],
      daily: [
        { date: '2026-11-24', call_count: 1, total_records: 5 },
        { date: '2026-11-25', call_count: 2, total_records: 7 },
      ],
      topTools: [
        { tool_name: 'get_daily_bars', table_name: 'ods_daily', call_count: 2, total_records: 12 },
        { tool_name: 'get_stock_basic', table_name: 'ods_stock_basic', call_count: 1, total_records: 0 },
      ],
    };

    await repository.insert(batch);
    expect(await readAll({ userId })).toEqual(expected);

    await repository.insert(batch);
    const [stored] = await clickhouse.query<{ rows: string }>(sql`SELECT count() AS rows FROM mcp_tool_usage_log WHERE user_id = ${str(userId)}`);
    expect(Number(stored.rows)).toBe(6);
    expect(await readAll({ userId })).toEqual(expected);
  });

  it("should never return another user's records", async () => {
    const alice = randomUUID();
    const bob = randomUUID();
    await repository.insert([
      usage(alice, 'alice-1', '2026-11-25T10:00:00', { record_count: 3 }),
      usage(bob, 'bob-1', '2026-11-25T10:00:00', { record_count: 40 }),
      usage(bob, 'bob-2', '2026-11-25T10:30:00', { record_count: 2, tool_name: 'get_stock_basic', table_name: 'ods_stock_basic' }),
    ]);

    const seenByAlice = await readAll({ userId: alice });

    expect(seenByAlice.count).toBe(1);
    expect(ids(seenByAlice.page)).toEqual(['alice-1']);
    expect(seenByAlice.daily).toEqual([{ date: '2026-11-25', call_count: 1, total_records: 3 }]);
    expect(seenByAlice.topTools).toEqual([{ tool_name: 'get_daily_bars', table_name: 'ods_daily', call_count: 1, total_records: 3 }]);
    expect(await repository.count({ userId: randomUUID() })).toBe(0);
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
    expect(november1.daily).toEqual([{ date: '2026-11-01', call_count: 2, total_records: 6 }]);
    expect(november1.topTools).toEqual([{ tool_name: 'get_daily_bars', table_name: 'ods_daily', call_count: 2, total_records: 6 }]);
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
      usage(userId, 'basic', '2026-11-25T10:00:01', { tool_name: 'get_stock_basic', table_name: 'ods_stock_basic' }),
    ]);

    const bars = await readAll({ userId, toolName: 'get_daily_bars' });

    expect(bars.count).toBe(1);
    expect(ids(bars.page)).toEqual(['bars']);
    expect(bars.daily).toEqual([{ date: '2026-11-25', call_count: 1, total_records: 9 }]);
    expect(bars.topTools).toEqual([{ tool_name: 'get_daily_bars', table_name: 'ods_daily', call_count: 1, total_records: 9 }]);
  });
});
