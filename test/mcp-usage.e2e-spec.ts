import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalClickHouse, startLocalClickHouse } from '../scripts/lib/local-clickhouse.mjs';
import { pollUntil } from '../scripts/lib/poll.mjs';
import { uniqueDatabaseName } from './support/clickhouse.js';
import { connectSdkClient, createApiKey, rawRpc } from './support/mcp.js';
import { insertStockList } from './support/stock-list.js';
import { type LoggedInUser, type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';
import { countForKey, waitForCount } from './support/usage-log.js';

interface UsageRecord {
  tool_name: string;
  table_name: string;
  record_count: number;
  is_error: boolean;
  error_message: string | null;
  api_key_id: string;
  arguments: string;
  created_at: string;
}

const today = () => new Date().toISOString().slice(0, 10);
const FAST_FLUSH = { USAGE_FLUSH_INTERVAL_MS: '50', USAGE_RETRY_MAX_DELAY_MS: '500' };

const toolCall = (id: number, name: string, args: Record<string, unknown>) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

describe('Usage tracking (e2e)', () => {
  let app: TestApp;
  let alice: LoggedInUser;
  let bob: LoggedInUser;
  let aliceKey: { api_key: string; key_id: string };
  let bobKey: { api_key: string; key_id: string };
  const returned: { tool: string; table: string; rows: number }[] = [];

  beforeAll(async () => {
    app = await startTestApp({ ...FAST_FLUSH, DEMO_DATA: 'true' });
    alice = await registerAndLogin(app, 'usage-alice@example.com');
    bob = await registerAndLogin(app, 'usage-bob@example.com');
    aliceKey = await createApiKey(app, alice.jwt, { key_name: 'alice-usage' });
    bobKey = await createApiKey(app, bob.jwt, { key_name: 'bob-usage' });

    // Three calls like the seed's curl, one batch of two, and three through the SDK client.
    const curlCalls = [
      toolCall(1, 'search_stocks', { query: '银行' }),
      toolCall(2, 'get_daily_bars', { ts_code: '000001.SZ', start_date: '20251103', end_date: '20251107' }),
      toolCall(3, 'get_daily_bars', { ts_code: 'bad code' }),
    ];
    for (const call of curlCalls) {
      const response = await rawRpc(app, call, aliceKey.api_key).expect(200);
      const result = response.body.result;
      returned.push({ tool: call.params.name, table: call.params.name === 'search_stocks' ? 'ods_stock_basic' : 'ods_daily', rows: result.isError ? 0 : result.structuredContent.row_count });
    }
    const batch = await rawRpc(app, [toolCall(4, 'get_latest_bars', { ts_codes: ['000001.SZ', '600519.SH'] }), toolCall(5, 'get_trade_calendar', { start_date: '2025-11-01', end_date: '2025-11-30' })], aliceKey.api_key).expect(200);
    for (const message of batch.body) {
      const tool = message.id === 4 ? 'get_latest_bars' : 'get_trade_calendar';
      returned.push({ tool, table: tool === 'get_latest_bars' ? 'ods_daily' : 'ods_trade_calendar', rows: message.result.structuredContent.row_count });
    }
    const client = await connectSdkClient(app, aliceKey.api_key);
    for (const [name, args] of [
      ['get_daily_basic', { ts_code: '600519.SH', start_date: '2025-11-03', end_date: '2025-11-05' }],
      ['search_stocks', { industry: '白酒' }],
      ['get_daily_bars', { ts_code: '600000.SH', start_date: '2025-11-10', end_date: '2025-11-10' }],
    ] as const) {
      const result = await client.callTool({ name, arguments: args });
      returned.push({ tool: name, table: name === 'get_daily_basic' ? 'ods_daily_basic' : name === 'search_stocks' ? 'ods_stock_basic' : 'ods_daily', rows: (result.structuredContent as { row_count: number }).row_count });
    }
    await client.close();
    await rawRpc(app, toolCall(9, 'search_stocks', { query: '600' }), bobKey.api_key).expect(200);
    expect(await waitForCount(app, aliceKey.key_id, 8)).toBe(8);
    expect(await waitForCount(app, bobKey.key_id, 1)).toBe(1);
  });

  afterAll(async () => {
    await app.stop();
  });

  const history = (user: LoggedInUser, query: string) => app.rest.get(`/api/mcp-usage/history?${query}`).set('Authorization', `Bearer ${user.jwt}`);

  it('should list exactly the calls made, newest first, with the rows each returned', async () => {
    const response = await history(alice, 'page=1&page_size=20').expect(200);
    expect(response.body.total).toBe(8);
    expect(response.body.page).toBe(1);
    expect(response.body.page_size).toBe(20);
    const records = response.body.records as UsageRecord[];
    const listed = records.map((r) => ({ tool: r.tool_name, table: r.table_name, rows: r.record_count })).sort((a, b) => a.tool.localeCompare(b.tool) || a.rows - b.rows);
    const expected = [...returned].sort((a, b) => a.tool.localeCompare(b.tool) || a.rows - b.rows);
    expect(listed).toEqual(expected);
    expect(records.every((r) => r.api_key_id === aliceKey.key_id)).toBe(true);
    const sorted = [...records].sort((a, b) => b.created_at.localeCompare(a.created_at));
    expect(records.map((r) => r.created_at)).toEqual(sorted.map((r) => r.created_at));
  });

  it('should record a failed call with its error', async () => {
    const response = await history(alice, 'tool_name=get_daily_bars').expect(200);
    const failed = (response.body.records as UsageRecord[]).filter((r) => r.is_error);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ record_count: 0, table_name: 'ods_daily', arguments: '{"ts_code":"bad code"}' });
    expect(failed[0].error_message).toMatch(/^Invalid arguments for get_daily_bars/);
  });

  it('should filter by tool, by dates and paginate', async () => {
    expect((await history(alice, 'tool_name=search_stocks').expect(200)).body.total).toBe(2);
    expect((await history(alice, `start_date=${today()}&end_date=${today()}`).expect(200)).body.total).toBe(8);
    expect((await history(alice, 'start_date=2020-01-01&end_date=2020-12-31').expect(200)).body.total).toBe(0);
    const page2 = await history(alice, 'page=2&page_size=3').expect(200);
    expect(page2.body).toMatchObject({ total: 8, page: 2, page_size: 3 });
    expect(page2.body.records).toHaveLength(3);
    const page3 = await history(alice, 'page=3&page_size=3').expect(200);
    expect(page3.body.records).toHaveLength(2);
  });

  it.each([
    ['page=0', 'page must not be less than 1'],
    ['page_size=101', 'page_size must not be greater than 100'],
    ['page_size=abc', 'page_size must be a whole number'],
    ['start_date=2026-02-30', 'start_date must be a date written YYYY-MM-DD'],
    ['end_date=25-11-2026', 'end_date must be a date written YYYY-MM-DD'],
    ['start_date=2026-11-25&end_date=2026-11-01', 'start_date must not be after end_date'],
    ['color=blue', 'property color should not exist'],
  ])('should answer 400 for %s', async (query, message) => {
    const response = await history(alice, query).expect(400);
    expect(response.body.detail).toContain(message);
  });

  it('should show only the caller’s own records', async () => {
    const response = await history(bob, 'page=1&page_size=20').expect(200);
    expect(response.body.total).toBe(1);
    expect(response.body.records[0]).toMatchObject({ tool_name: 'search_stocks', api_key_id: bobKey.key_id });
  });

  it('should show today’s calls and the top tools in stats', async () => {
    const response = await app.rest.get('/api/mcp-usage/stats?days=30').set('Authorization', `Bearer ${alice.jwt}`).expect(200);
    const totalRows = returned.reduce((sum, call) => sum + call.rows, 0);
    const rowsOf = (predicate: (call: (typeof returned)[number]) => boolean) => returned.filter(predicate).reduce((sum, call) => sum + call.rows, 0);
    expect(response.body.daily_stats).toEqual([{ date: today(), call_count: 8, total_records: totalRows, error_count: 1 }]);
    expect(response.body.total_calls).toBe(8);
    expect(response.body.total_records).toBe(totalRows);
    expect(response.body.total_errors).toBe(1);
    expect(response.body.avg_daily_calls).toBe(8);
    expect(response.body.top_tools[0]).toEqual({ tool_name: 'get_daily_bars', table_name: 'ods_daily', call_count: 3, total_records: rowsOf((c) => c.tool === 'get_daily_bars') });
    expect(response.body.top_tools).toHaveLength(5);
    expect(response.body.top_tables).toEqual([
      { table_name: 'ods_daily', call_count: 4, total_records: rowsOf((c) => c.table === 'ods_daily') },
      { table_name: 'ods_stock_basic', call_count: 2, total_records: rowsOf((c) => c.table === 'ods_stock_basic') },
      { table_name: 'ods_daily_basic', call_count: 1, total_records: rowsOf((c) => c.table === 'ods_daily_basic') },
      { table_name: 'ods_trade_calendar', call_count: 1, total_records: rowsOf((c) => c.table === 'ods_trade_calendar') },
    ]);
    const thirtyDaysAgo = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
    expect(response.body).toMatchObject({ start_date: thirtyDaysAgo, end_date: today() });
    await app.rest.get('/api/mcp-usage/stats?days=0').set('Authorization', `Bearer ${alice.jwt}`).expect(400);
    await app.rest.get('/api/mcp-usage/stats?days=366').set('Authorization', `Bearer ${alice.jwt}`).expect(400);
  });

  it('should narrow stats and history to one key and to a date range', async () => {
    const stats = (query: string) => app.rest.get(`/api/mcp-usage/stats?${query}`).set('Authorization', `Bearer ${alice.jwt}`);
    expect((await stats(`api_key_id=${aliceKey.key_id}`).expect(200)).body.total_calls).toBe(8);
    // Another user's key matches none of the caller's rows.
    expect((await stats(`api_key_id=${bobKey.key_id}`).expect(200)).body).toMatchObject({ total_calls: 0, daily_stats: [], top_tools: [], top_tables: [] });
    expect((await history(alice, `api_key_id=${aliceKey.key_id}&tool_name=search_stocks`).expect(200)).body.total).toBe(2);
    expect((await history(alice, `api_key_id=${bobKey.key_id}`).expect(200)).body.total).toBe(0);
    expect((await stats(`start_date=${today()}&end_date=${today()}`).expect(200)).body).toMatchObject({ total_calls: 8, start_date: today(), end_date: today() });
    expect((await stats('start_date=2020-01-01&end_date=2020-12-31').expect(200)).body).toMatchObject({ total_calls: 0, start_date: '2020-01-01', end_date: '2020-12-31' });
    expect((await stats('start_date=2020-01-01&end_date=2021-12-31').expect(400)).body.detail).toBe('start_date to end_date may span at most 366 days');
    expect((await stats('start_date=2021-01-02&end_date=2021-01-01').expect(400)).body.detail).toBe('start_date must not be after end_date');
    // `days` before an end_date near the first storable day starts at that day, never below it.
    expect((await stats('end_date=1970-01-29').expect(200)).body).toMatchObject({ total_calls: 0, start_date: '1970-01-01', end_date: '1970-01-29' });
    expect((await stats('days=365&end_date=1970-06-01').expect(200)).body).toMatchObject({ start_date: '1970-01-01' });
  });

  it('should keep a revoked key’s history visible', async () => {
    await app.rest.post('/api/mcp-keys/revoke').set('Authorization', `Bearer ${bob.jwt}`).send({ key_id: bobKey.key_id }).expect(200);
    const response = await history(bob, 'page=1').expect(200);
    expect(response.body.total).toBe(1);
  });

  it('should expose the usage queue in /health', async () => {
    const response = await app.rest.get('/health').expect(200);
    expect(response.body.details.usage_writer).toMatchObject({ status: 'up', queue_depth: 0, accepting: true, records_written: 9 });
  });
});

describe('Usage tracking through a ClickHouse outage and a SIGTERM (e2e)', () => {
  let clickhouse: LocalClickHouse;
  let dir: string;
  /** One database for these tests: each counts its own key's rows and reads its own process's counters. */
  const database = uniqueDatabaseName('usage_outage');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stock-mcp-usage-outage-'));
    clickhouse = await startLocalClickHouse({ dir });
    await createTablesWithStockList();
  });

  /** The tests' calls read the stock list only: a gateway creates the tables, and the list goes in alone. */
  const createTablesWithStockList = async () => {
    await (await startTestApp({ CLICKHOUSE_URL: clickhouse.url, CLICKHOUSE_DATABASE: database }, { keepDatabase: true })).stop();
    await insertStockList(database, clickhouse.url);
  };

  afterAll(async () => {
    await outage();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Kills the server: to the gateway the same outage as a stop, and at once, where a SIGTERM'd
   * ClickHouse 18.16 waits up to 8 s for the gateway's keep-alive connections to close.
   */
  const outage = () => clickhouse.stop('SIGKILL');
  const restartClickHouse = async () => {
    clickhouse = await startLocalClickHouse({ dir, httpPort: clickhouse.httpPort, tcpPort: clickhouse.tcpPort });
  };
  // A test that failed during its outage must not leave the next ones without a server.
  afterEach(async () => {
    if (clickhouse.child.exitCode !== null || clickhouse.child.signalCode !== null) await restartClickHouse();
  });
  /** Outage settings: quick retries, and a key cache that outlives the outage. */
  const outageEnv = () => ({
    ...FAST_FLUSH,
    CLICKHOUSE_URL: clickhouse.url,
    CLICKHOUSE_DATABASE: database,
    CLICKHOUSE_REQUEST_TIMEOUT_MS: '1000',
    MCP_KEY_CACHE_TTL_SECONDS: '600',
  });
  /** The writer's queue once empty: nothing more is on its way to the table, so a count read then is final. */
  const queueDrained = async (app: TestApp) => {
    const depth = await pollUntil(async () => (await app.rest.get('/health')).body.details.usage_writer.queue_depth, (n) => n === 0, { timeoutMs: 20_000, intervalMs: 100 });
    expect(depth).toBe(0);
  };

  it('should record every call made while ClickHouse was down, once, after it returns', async () => {
    const app = await startTestApp(outageEnv(), { keepDatabase: true });
    try {
      const user = await registerAndLogin(app);
      const key = await createApiKey(app, user.jwt);
      await rawRpc(app, toolCall(1, 'search_stocks', { query: '000001' }), key.api_key).expect(200);
      await outage();
      for (let id = 2; id <= 6; id++) {
        const response = await rawRpc(app, toolCall(id, 'search_stocks', { query: '000001' }), key.api_key).expect(200);
        expect(response.body.result.isError).toBe(true);
      }
      const health = await app.rest.get('/health').expect(503);
      const writer = health.body.details.usage_writer;
      // The first call may or may not have shipped before the outage; either way none of the 5 did.
      // (Asserted as one object so a failure prints the writer's whole state and the app's log.)
      expect({ writer, log: writer.queue_depth === 0 ? app.output() : '' }).toMatchObject({ writer: { queue_depth: writer.records_written === 1 ? 5 : 6, records_rejected: 0 }, log: '' });
      await restartClickHouse();
      expect(await waitForCount(app, key.key_id, 6, 30_000)).toBe(6);
      await queueDrained(app);
      expect(await countForKey(app, key.key_id)).toBe(6);
    } finally {
      await app.stop();
    }
  });

  it('should write every acknowledged call of a burst before exiting on SIGTERM', async () => {
    const env = { CLICKHOUSE_URL: clickhouse.url, CLICKHOUSE_DATABASE: database, USAGE_FLUSH_INTERVAL_MS: '60000', USAGE_BATCH_SIZE: '100000', JWT_SECRET: 'sigterm-test-secret-long-enough-0123456789' };
    const app = await startTestApp(env, { keepDatabase: true });
    const user = await registerAndLogin(app);
    const key = await createApiKey(app, user.jwt);
    const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => rawRpc(app, toolCall(i, 'search_stocks', { query: '600' }), key.api_key)));
    expect(responses.filter((response) => response.status === 200 && response.body.result?.structuredContent?.row_count > 0)).toHaveLength(40);
    // Nothing shipped yet (60 s interval, huge batch size): the records are only in the spool.
    expect(await countForKey(app, key.key_id)).toBe(0);
    expect(await app.signal('SIGTERM')).toBe(0);
    const restarted = await startTestApp({ ...env, CLICKHOUSE_DATABASE: app.database }, { keepDatabase: true });
    try {
      expect(await countForKey(restarted, key.key_id)).toBe(40);
    } finally {
      await restarted.stop();
      rmSync(app.spoolDir, { recursive: true, force: true });
    }
  });

  it('should ship on the next start what a process killed with SIGKILL left in its spool', async () => {
    const env = { ...outageEnv(), JWT_SECRET: 'sigkill-test-secret-long-enough-0123456789' };
    const app = await startTestApp(env, { keepDatabase: true });
    const user = await registerAndLogin(app);
    const key = await createApiKey(app, user.jwt);
    // One call while ClickHouse is up puts the key in the verifier's cache.
    await rawRpc(app, toolCall(0, 'search_stocks', { query: '000001' }), key.api_key).expect(200);
    expect(await waitForCount(app, key.key_id, 1)).toBe(1);
    await outage();
    for (let id = 1; id <= 8; id++) {
      const response = await rawRpc(app, toolCall(id, 'get_trade_calendar', { start_date: '20251101', end_date: '20251130' }), key.api_key).expect(200);
      expect(response.body.result.isError).toBe(true);
    }
    expect(await app.signal('SIGKILL')).toBe('SIGKILL');
    expect(readdirSync(app.spoolDir).filter((name) => name.endsWith('.spool')).length).toBeGreaterThan(0);

    await restartClickHouse();
    const restarted = await startTestApp({ ...env, CLICKHOUSE_URL: clickhouse.url, CLICKHOUSE_DATABASE: app.database, USAGE_SPOOL_DIR: app.spoolDir }, { keepDatabase: true });
    try {
      expect(await waitForCount(restarted, key.key_id, 9)).toBe(9);
      await queueDrained(restarted);
      expect(await countForKey(restarted, key.key_id)).toBe(9);
      expect((await restarted.rest.get('/health').expect(200)).body.details.usage_writer).toMatchObject({ queue_depth: 0, records_written: 8 });
      expect(readdirSync(app.spoolDir).filter((name) => name.endsWith('.spool'))).toEqual([]);
    } finally {
      await restarted.stop();
      rmSync(app.spoolDir, { recursive: true, force: true });
    }
  });

  it('should refuse calls with a clear error while the spool is full, and take them again once it drains', async () => {
    const app = await startTestApp({ ...outageEnv(), USAGE_SPOOL_MAX_BYTES: '65536' }, { keepDatabase: true });
    try {
      const user = await registerAndLogin(app);
      const key = await createApiKey(app, user.jwt);
      const before = await rawRpc(app, toolCall(0, 'search_stocks', { query: '000001' }), key.api_key).expect(200);
      expect(before.body.result.structuredContent.row_count).toBe(1);
      expect(await waitForCount(app, key.key_id, 1)).toBe(1);
      await outage();
      let acknowledged = 0;
      let refusal: { code: number; message: string } | undefined;
      for (let id = 1; refusal === undefined && id <= 1000; id++) {
        const { body } = await rawRpc(app, toolCall(id, 'search_stocks', { query: '000001' }), key.api_key).expect(200);
        if (body.result) acknowledged++;
        else refusal = body.error;
      }
      expect(refusal).toEqual({ code: -32010, message: expect.stringContaining('Usage cannot be recorded right now') });
      expect(acknowledged).toBeGreaterThan(100);
      const health = await app.rest.get('/health').expect(503);
      expect(health.body.details.usage_writer).toMatchObject({ status: 'down', accepting: true, queue_depth: acknowledged });
      expect(health.body.details.usage_writer.message).toContain('usage spool is full');

      await restartClickHouse();
      expect(await waitForCount(app, key.key_id, acknowledged + 1, 30_000)).toBe(acknowledged + 1);
      const after = await rawRpc(app, toolCall(5000, 'search_stocks', { query: '000001' }), key.api_key).expect(200);
      expect(after.body.result.structuredContent.row_count).toBe(1);
      expect(await waitForCount(app, key.key_id, acknowledged + 2)).toBe(acknowledged + 2);
    } finally {
      await app.stop();
    }
  });
});
