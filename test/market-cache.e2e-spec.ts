import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { ClickHouseClient } from '@clickhouse/client';
import { randomBytes } from 'node:crypto';
import { sql, str } from '../src/clickhouse/sql.js';
import { pollUntil } from '../scripts/lib/poll.mjs';
import { queryRows, rawClient } from './support/clickhouse.js';
import { type AppBehindRelay, type ClickHouseRelay, DAILY_BARS_QUERY, startAppBehindRelay } from './support/clickhouse-relay.js';
import { connectSdkClient, createApiKey } from './support/mcp.js';
import { type LoggedInUser, type TestApp, registerAndLogin } from './support/test-app.js';
import { waitForCount } from './support/usage-log.js';

/** MARKET_CACHE_CHECK_MS's default: a change shows within twice this. */
const FRESHNESS_BOUND_MS = 2000;
const METRICS_TOKEN = randomBytes(24).toString('hex');

type Row = Record<string, unknown>;

interface Answer {
  rows: Row[];
  rowCount: number;
  truncated: boolean;
  cached: boolean;
  recordCount: number;
  limitedByQuota: boolean;
  /** When the call was sent. */
  startedAt: number;
  error?: string;
}

describe('Market data cache (e2e)', () => {
  let app: TestApp;
  let user: LoggedInUser;
  let client: Client;
  let keyId: string;
  let clickhouse: ClickHouseClient;
  /** Between the app and ClickHouse, to hold its queries; the test's own client goes straight to ClickHouse. */
  let relay: ClickHouseRelay;
  /** Calls made with the main key, each one usage row. */
  let calls = 0;
  let recordsReturned = 0;

  let behind: AppBehindRelay;

  beforeAll(async () => {
    ({ app, relay } = behind = await startAppBehindRelay({ DEMO_DATA: 'true', METRICS_TOKEN, MARKET_CACHE_MAX_BYTES: String(64 * 1024 * 1024) }));
    user = await registerAndLogin(app);
    const key = await createApiKey(app, user.jwt, { key_name: 'cache' });
    keyId = key.key_id;
    client = await connectSdkClient(app, key.api_key);
    clickhouse = rawClient(app.database);
  });

  afterAll(async () => {
    await client.close();
    await clickhouse.close();
    await behind.stop();
  });

  async function callOn(caller: Client, name: string, args: Record<string, unknown>): Promise<Answer> {
    const startedAt = Date.now();
    const result = await caller.callTool({ name, arguments: args });
    const usage = (result._meta as { usage: { record_count: number; cached: boolean; limited_by_quota: boolean } }).usage;
    const content = result.structuredContent as { rows: Row[]; row_count: number; truncated: boolean } | undefined;
    const text = (result.content as { text: string }[])[0]?.text;
    return {
      rows: content?.rows ?? [],
      rowCount: content?.row_count ?? 0,
      truncated: content?.truncated ?? false,
      cached: usage.cached,
      recordCount: usage.record_count,
      limitedByQuota: usage.limited_by_quota,
      startedAt,
      ...(result.isError ? { error: text } : {}),
    };
  }

  async function call(name: string, args: Record<string, unknown>): Promise<Answer> {
    const answer = await callOn(client, name, args);
    calls++;
    recordsReturned += answer.recordCount;
    return answer;
  }

  /** Calls until the answer comes from the cache (a change check has seen the table since the first call). */
  async function cachedAnswer(name: string, args: Record<string, unknown>): Promise<Answer> {
    const answer = await pollUntil(() => call(name, args), (reply) => reply.cached, { timeoutMs: 10_000, intervalMs: 100 });
    expect(answer.cached).toBe(true);
    return answer;
  }

  /**
   * Makes `change` to a cached answer's table straight in ClickHouse and calls until the answer
   * shows it: every call that still got the old answer was sent within the freshness bound of the
   * change's acknowledgement, and the calls after the first new answer get the new one too.
   */
  async function expectChangeShown(name: string, args: Record<string, unknown>, change: () => Promise<void>, shows: (answer: Answer) => boolean) {
    const before = await cachedAnswer(name, args);
    expect(shows(before)).toBe(false);
    await change();
    const acknowledgedAt = Date.now();
    const stale: Answer[] = [];
    const after = await pollUntil(
      async () => {
        const answer = await call(name, args);
        if (!shows(answer)) stale.push(answer);
        return answer;
      },
      shows,
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    expect(shows(after)).toBe(true);
    expect(stale.filter((answer) => answer.startedAt - acknowledgedAt >= FRESHNESS_BOUND_MS)).toEqual([]);
    for (let i = 0; i < 3; i++) expect(shows(await call(name, args))).toBe(true);
    return after;
  }

  const newestVersionOf = async (code: string, tradeDate: string): Promise<Row> => {
    const [row] = await queryRows<Row>(clickhouse, sql`SELECT * FROM ods_daily WHERE ts_code = ${str(code)} AND trade_date = ${str(tradeDate)} ORDER BY version DESC LIMIT 1`.text);
    return row;
  };
  const insertBars = (rows: Row[]) => clickhouse.insert({ table: 'ods_daily', values: rows, format: 'JSONEachRow' });
  const command = (query: string) => clickhouse.command({ query });

  /** One unlabelled series of GET /metrics, as a Prometheus server scrapes it. */
  async function metric(name: string): Promise<number> {
    const response = await app.rest.get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(200);
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(response.text)?.[1]);
  }

  it('should answer a repeated call from the cache, with the same rows and record count as the fresh answer', async () => {
    const args = { ts_code: '600519.SH', start_date: '2026-10-08', end_date: '2026-10-14' };
    const fresh = await call('get_daily_bars', args);
    expect([fresh.cached, fresh.rowCount, fresh.recordCount]).toEqual([false, 5, 5]);
    const cached = await cachedAnswer('get_daily_bars', args);
    expect([cached.rows, cached.rowCount, cached.recordCount, cached.truncated]).toEqual([fresh.rows, 5, 5, false]);
    // Equal arguments in another order or form are the same answer.
    expect((await call('get_daily_bars', { end_date: '20261014', ts_code: '600519', start_date: '20261008' })).cached).toBe(true);
  });

  it('should show a corrected bar re-ingested with a higher version within the bound', async () => {
    const args = { ts_code: '000001.SZ', start_date: '2026-09-01', end_date: '2026-09-30' };
    const tradeDate = '2026-09-15';
    const stored = await newestVersionOf('000001.SZ', tradeDate);
    const corrected = { ...stored, close: 123.45, version: Number(stored.version) + 1 };
    const closeOn = (answer: Answer) => answer.rows.find((row) => row.trade_date === tradeDate)?.close;
    const after = await expectChangeShown('get_daily_bars', args, () => insertBars([corrected]).then(() => undefined), (answer) => closeOn(answer) === 123.45);
    expect(after.rowCount).toBe(22);
  });

  it('should show a newly inserted bar within the bound', async () => {
    const [{ newest }] = await queryRows<{ newest: string }>(clickhouse, "SELECT toString(max(trade_date)) AS newest FROM ods_daily WHERE ts_code = '600036.SH'");
    const nextDay = new Date(Date.parse(`${newest}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const bar = { ...(await newestVersionOf('600036.SH', newest)), trade_date: nextDay, close: 77.77 };
    const after = await expectChangeShown('get_latest_bars', { ts_codes: ['600036.SH'] }, () => insertBars([bar]).then(() => undefined), (answer) => answer.rows[0]?.trade_date === nextDay);
    expect(after.rows[0].close).toBe(77.77);
  });

  it('should show rows deleted by a mutation (ALTER TABLE … DELETE) within the bound of its end', async () => {
    const args = { ts_code: '000002.SZ', start_date: '2026-08-03', end_date: '2026-08-07' };
    const deleteBar = async () => {
      await command("ALTER TABLE ods_daily DELETE WHERE ts_code = '000002.SZ' AND trade_date = '2026-08-05'");
      // 18.16 runs mutations in the background: the change is made when it is done.
      const done = await pollUntil(
        () => queryRows<{ pending: string }>(clickhouse, sql`SELECT toString(countIf(is_done = 0)) AS pending FROM system.mutations WHERE database = ${str(app.database)} AND table = 'ods_daily'`.text),
        ([row]) => row.pending === '0',
        { timeoutMs: 10_000, intervalMs: 20 },
      );
      expect(done).toEqual([{ pending: '0' }]);
    };
    const after = await expectChangeShown('get_daily_bars', args, deleteBar, (answer) => answer.rowCount === 4);
    expect(after.rows.map((row) => row.trade_date)).toEqual(['2026-08-03', '2026-08-04', '2026-08-06', '2026-08-07']);
  });

  it('should show a dropped partition within the bound', async () => {
    const args = { ts_code: '300750.SZ', start_date: '2025-03-01', end_date: '2025-03-31' };
    const after = await expectChangeShown('get_daily_bars', args, () => command('ALTER TABLE ods_daily DROP PARTITION 202503').then(() => undefined), (answer) => answer.rowCount === 0);
    expect(after.rows).toEqual([]);
  });

  it('should drop adjusted answers when only the adjustment factors change', async () => {
    const args = { ts_code: '600000.SH', start_date: '2026-06-01', end_date: '2026-06-05', adjust: 'hfq' };
    const [factor] = await queryRows<Row>(clickhouse, "SELECT * FROM ods_adj_factor WHERE ts_code = '600000.SH' AND trade_date = '2026-06-03' ORDER BY version DESC LIMIT 1");
    const doubled = { ...factor, adj_factor: Number(factor.adj_factor) * 2, version: Number(factor.version) + 1 };
    const factorOn = (answer: Answer) => answer.rows.find((row) => row.trade_date === '2026-06-03')?.adj_factor;
    const insertFactor = () => clickhouse.insert({ table: 'ods_adj_factor', values: [doubled], format: 'JSONEachRow' }).then(() => undefined);
    await expectChangeShown('get_daily_bars', args, insertFactor, (answer) => factorOn(answer) === doubled.adj_factor);
  });

  it('should never cache a failed answer', async () => {
    // 688999.SH has bars but no adjustment factors, so adjusted prices fail; raw ones are cached.
    const bar = { ...(await newestVersionOf('600519.SH', '2026-11-02')), ts_code: '688999.SH' };
    await insertBars([bar]);
    await cachedAnswer('get_daily_bars', { ts_code: '688999.SH' });
    const [hits, misses] = [await metric('mcp_market_cache_hits_total'), await metric('mcp_market_cache_misses_total')];
    for (let i = 0; i < 3; i++) {
      const failed = await call('get_daily_bars', { ts_code: '688999.SH', adjust: 'qfq' });
      expect([failed.error, failed.cached, failed.recordCount]).toEqual([
        'No adjustment factors for 688999.SH in ods_adj_factor around 2026-11-02, so adjusted prices cannot be computed; ask with adjust: "none"',
        false,
        0,
      ]);
    }
    // Each failed call ran its own query: none was answered from a stored failure.
    expect([await metric('mcp_market_cache_hits_total'), await metric('mcp_market_cache_misses_total')]).toEqual([hits, misses + 3]);
  });

  it('should cut a cached answer to what is left of a record quota, and meter exactly the records returned', async () => {
    // No merge may rename ods_daily_basic's parts (and drop the answer) between the warm-up and the call under test.
    await command('SYSTEM STOP MERGES ods_daily_basic');
    try {
      const merging = await pollUntil(
        () => queryRows<{ n: string }>(clickhouse, sql`SELECT toString(count()) AS n FROM system.merges WHERE database = ${str(app.database)} AND table = 'ods_daily_basic'`.text),
        ([row]) => row.n === '0',
        { timeoutMs: 10_000, intervalMs: 20 },
      );
      expect(merging).toEqual([{ n: '0' }]);
      await expectQuotaCutOfCachedAnswer();
    } finally {
      await command('SYSTEM START MERGES ods_daily_basic');
    }
  });

  async function expectQuotaCutOfCachedAnswer() {
    const args = { ts_code: '601398.SH', start_date: '2026-07-01', end_date: '2026-07-31' };
    const full = await cachedAnswer('get_daily_basic', args);
    expect(full.rowCount).toBe(23);
    const quotaKey = await createApiKey(app, user.jwt, { key_name: 'cache-quota', policy: { records_per_day: 10 } });
    const limited = await connectSdkClient(app, quotaKey.api_key);
    try {
      const cut = await callOn(limited, 'get_daily_basic', args);
      expect([cut.cached, cut.rowCount, cut.truncated, cut.recordCount, cut.limitedByQuota]).toEqual([true, 10, true, 10, true]);
      expect(cut.rows).toEqual(full.rows.slice(0, 10));
      await expect(limited.callTool({ name: 'get_daily_basic', arguments: args })).rejects.toThrow(/quota/i);
    } finally {
      await limited.close();
    }
    expect(await waitForCount(app, quotaKey.key_id, 1)).toBe(1);
    const [row] = await queryRows<{ record_count: string; is_error: number }>(clickhouse, sql`SELECT record_count, is_error FROM mcp_tool_usage_log WHERE api_key_id = ${str(quotaKey.key_id)}`.text);
    expect(row).toEqual({ record_count: '10', is_error: 0 });
  }

  it('should record every call, cached or not, as one usage row with the records it returned', async () => {
    expect(await waitForCount(app, keyId, calls)).toBe(calls);
    const [row] = await queryRows<{ n: string; records: string }>(
      clickhouse,
      sql`SELECT toString(count()) AS n, toString(sum(record_count)) AS records FROM mcp_tool_usage_log WHERE api_key_id = ${str(keyId)}`.text,
    );
    expect(row).toEqual({ n: String(calls), records: String(recordsReturned) });
  });

  it('should run one query for identical calls that arrive while it runs, and give each the same answer', async () => {
    const args = { ts_code: '002594.SZ', start_date: '2026-05-04', end_date: '2026-05-08' };
    const shared = await metric('mcp_market_cache_shared_total');
    relay.hold(DAILY_BARS_QUERY);
    let answers: Promise<Answer[]>;
    try {
      answers = Promise.all([call('get_daily_bars', args), call('get_daily_bars', args), call('get_daily_bars', args)]);
      expect(await relay.waitForHeld(DAILY_BARS_QUERY, 1)).toBe(1);
      expect(await pollUntil(() => metric('mcp_market_cache_shared_total'), (n) => n === shared + 2, { timeoutMs: 10_000, intervalMs: 20 })).toBe(shared + 2);
      expect(await relay.waitForHeld(DAILY_BARS_QUERY, 1)).toBe(1);
    } finally {
      relay.release();
    }
    const [first, second, third] = await answers;
    expect([first.cached, second.cached, third.cached].sort()).toEqual([false, true, true]);
    expect([first.rowCount, second.rows, third.rows]).toEqual([5, first.rows, first.rows]);
  });

  it('should stop serving cached answers when its change checks stall, so a change still shows within the bound', async () => {
    const args = { ts_code: '600276.SH', start_date: '2026-04-01', end_date: '2026-04-30' };
    const tradeDate = '2026-04-15';
    const stored = await newestVersionOf('600276.SH', tradeDate);
    const corrected = { ...stored, close: 321.09, version: Number(stored.version) + 1 };
    const closeOn = (answer: Answer) => answer.rows.find((row) => row.trade_date === tradeDate)?.close;
    const stallChecks = async () => {
      relay.hold(/system\.parts/);
      expect(await relay.waitForHeld(/system\.parts/, 1)).toBe(1);
      await insertBars([corrected]);
    };
    try {
      const after = await expectChangeShown('get_daily_bars', args, stallChecks, (answer) => closeOn(answer) === 321.09);
      expect(after.cached).toBe(false);
    } finally {
      relay.release();
    }
    // Checks work again: the new answer is cached.
    expect(closeOn(await cachedAnswer('get_daily_bars', args))).toBe(321.09);
  });

  it('should stop answering from rows of a column dropped since (ALTER TABLE … DROP COLUMN)', async () => {
    const cannotRead = (answer: Answer) => answer.error?.startsWith('search_stocks cannot read ods_stock_basic: ') === true && answer.error.includes('area');
    const after = await expectChangeShown('search_stocks', { industry: '银行' }, () => command('ALTER TABLE ods_stock_basic DROP COLUMN area').then(() => undefined), cannotRead);
    expect([after.cached, after.recordCount]).toEqual([false, 0]);
  });

  it('should publish its hits, misses, evictions, invalidations, bytes and entries on /metrics', async () => {
    const names = ['hits_total', 'shared_total', 'misses_total', 'evictions_total', 'invalidations_total', 'bytes', 'entries'].map((name) => `mcp_market_cache_${name}`);
    const values = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await metric(name)])));
    expect(Object.values(values).every(Number.isFinite)).toBe(true);
    // This suite's calls hit the cache and their tables changed under it; 64 MiB evicted nothing.
    expect([values.mcp_market_cache_hits_total > 0, values.mcp_market_cache_invalidations_total > 0, values.mcp_market_cache_evictions_total]).toEqual([true, true, 0]);
  });
});
