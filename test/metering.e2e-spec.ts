import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, str } from '../src/clickhouse/sql.js';
import { dropDatabase, queryRows, rawClient, uniqueDatabaseName } from './support/clickhouse.js';
import { type CreatedKey, connectSdkClient, createApiKey, rawRpc } from './support/mcp.js';
import { type LoggedInUser, type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';
import { SseStream } from './support/sse-stream.js';
import { waitForCount } from './support/usage-log.js';

const CODES = ['000001.SZ', '000002.SZ', '000063.SZ', '000333.SZ', '000568.SZ', '000651.SZ', '000725.SZ', '000858.SZ', '002415.SZ', '002475.SZ',
  '002594.SZ', '002714.SZ', '300015.SZ', '300059.SZ', '300124.SZ', '300274.SZ', '300750.SZ', '300760.SZ', '600000.SH', '600028.SH',
  '600030.SH', '600031.SH', '600036.SH', '600276.SH', '600519.SH', '600690.SH', '600809.SH', '600887.SH', '600900.SH', '601012.SH'];
/** One latest bar per code: a call that returns exactly `n` records. */
const latestBars = (id: number, n: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'get_latest_bars', arguments: { ts_codes: CODES.slice(0, n) } } });
const TASKS_UNSUPPORTED = { code: -32603, message: 'Server does not support task creation (required for tools/call)' };
const nextUtcMidnight = () => {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString().replace('.000Z', 'Z');
};

interface UsageRow {
  tool_name: string;
  table_name: string;
  record_count: string;
  is_error: number;
  error_message: string;
}

async function usageRows(app: TestApp, keyId: string): Promise<UsageRow[]> {
  const client = rawClient(app.database, app.clickhouseUrl);
  try {
    return await queryRows<UsageRow>(client, sql`SELECT tool_name, table_name, record_count, is_error, error_message FROM mcp_tool_usage_log
      WHERE api_key_id = ${str(keyId)} ORDER BY tool_name`.text);
  } finally {
    await client.close();
  }
}

async function recordsStored(app: TestApp, keyId: string): Promise<number> {
  const client = rawClient(app.database, app.clickhouseUrl);
  try {
    const [row] = await queryRows<{ n: string }>(client, sql`SELECT sum(record_count) AS n FROM mcp_tool_usage_log WHERE api_key_id = ${str(keyId)}`.text);
    return Number(row.n);
  } finally {
    await client.close();
  }
}

/**
 * One database for every gateway of this file, so the demo market is seeded once (seconds a start):
 * each test meters its own user's keys, and a gateway's counters are read per key and per user.
 */
const database = uniqueDatabaseName('metering');
afterAll(() => dropDatabase(database));

describe('Metering: scopes, rate limits and quotas (e2e)', () => {
  const spoolDir = mkdtempSync(join(tmpdir(), 'stock-mcp-metering-spool-'));
  // Usage stays in the spool for a minute, so a kill -9 finds it there and not yet in ClickHouse.
  // One JWT secret for every start, so the user's token outlives restarts.
  const env = { DEMO_DATA: 'true', CLICKHOUSE_DATABASE: database, USAGE_SPOOL_DIR: spoolDir, USAGE_FLUSH_INTERVAL_MS: '60000', USAGE_BATCH_SIZE: '10000', JWT_SECRET: 'metering-e2e-secret-0123456789abcdef0123' };
  let app: TestApp;
  let user: LoggedInUser;

  beforeAll(async () => {
    app = await startTestApp(env, { keepDatabase: true });
    user = await registerAndLogin(app);
  });

  afterAll(async () => {
    await app.stop();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  const restart = async (how: 'SIGTERM' | 'SIGKILL') => {
    await app.signal(how);
    app = await startTestApp(env, { keepDatabase: true });
  };

  it('shows a key scoped to one tool only that tool, and refuses and records a call of another', async () => {
    const key = await createApiKey(app, user.jwt, { key_name: 'scoped', policy: { tools: ['get_latest_bars'] } });
    expect(key.policy).toEqual({ tools: ['get_latest_bars'], tables: [], calls_per_minute: null, records_per_day: null, records_per_month: null, calls_per_day: null });
    const client = await connectSdkClient(app, key.api_key);
    try {
      expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['get_latest_bars']);
      const refused = await client.callTool({ name: 'search_stocks', arguments: { query: '600' } });
      expect(refused.isError).toBe(true);
      expect(refused.content).toEqual([{ type: 'text', text: "search_stocks is outside this API key's tool scope (get_latest_bars)" }]);
      const served = await client.callTool({ name: 'get_latest_bars', arguments: { ts_codes: CODES.slice(0, 3) } });
      expect(served.isError).toBeFalsy();
      // The app's first tool call: no change check has seen ods_daily yet, so it cannot be a cached answer.
      expect(served._meta).toEqual({ usage: { table: 'ods_daily', record_count: 3, limited_by_quota: false, cached: false, quotas: [] } });
      expect(served._usage).toEqual({ record_count: 3 });
    } finally {
      await client.close();
    }
    // A graceful stop ships the spool.
    await restart('SIGTERM');
    await waitForCount(app, key.key_id, 2);
    expect(await usageRows(app, key.key_id)).toEqual([
      { tool_name: 'get_latest_bars', table_name: 'ods_daily', record_count: '3', is_error: 0, error_message: '' },
      { tool_name: 'search_stocks', table_name: 'ods_stock_basic', record_count: '0', is_error: 1, error_message: "search_stocks is outside this API key's tool scope (get_latest_bars)" },
    ]);
  });

  it('refuses the 61st call in a minute of a 60-per-minute key with 429 and Retry-After, per call inside a batch', async () => {
    const key = await createApiKey(app, user.jwt, { key_name: 'rate', policy: { calls_per_minute: 60 } });
    const statuses: number[] = [];
    const firstCallBefore = Date.now();
    for (let id = 1; id <= 60; id++) statuses.push((await rawRpc(app, latestBars(id, 1), key.api_key)).status);
    expect(statuses).toEqual(new Array(60).fill(200));
    const refusalAfter = Date.now();
    const refused = await rawRpc(app, latestBars(61, 1), key.api_key);
    const refusedBy = Date.now();
    expect(refused.status).toBe(429);
    // The first call leaves the window when its second is a full minute old (calls count for 60 to
    // 61 s: a burst within one second waits 61): between these bounds of this machine's clock.
    const leaves = (firstCallSecond: number, now: number) => Math.ceil(((firstCallSecond + 61) * 1000 - now) / 1000);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(Math.max(1, leaves(Math.floor(firstCallBefore / 1000), refusedBy)));
    expect(retryAfter).toBeLessThanOrEqual(Math.min(61, leaves(Math.floor(refusalAfter / 1000), refusalAfter)));
    expect(refused.body).toEqual({
      jsonrpc: '2.0',
      id: 61,
      error: { code: -32029, message: `Rate limit of this API key (60 calls per minute) exceeded; retry in ${retryAfter} s`, data: { calls_per_minute: 60, retry_after_seconds: retryAfter } },
    });

    const batchKey = await createApiKey(app, user.jwt, { key_name: 'rate-batch', policy: { calls_per_minute: 60 } });
    const batch = await rawRpc(app, Array.from({ length: 61 }, (_, i) => latestBars(i + 1, 1)), batchKey.api_key);
    expect(batch.status).toBe(200);
    const answers = batch.body as { id: number; result?: unknown; error?: { code: number } }[];
    expect(answers).toHaveLength(61);
    expect(answers.filter((answer) => answer.result !== undefined)).toHaveLength(60);
    expect(answers.filter((answer) => answer.error?.code === -32029)).toHaveLength(1);
  });

  it('cuts the call that crosses a 100-record daily quota to what is left, then refuses with -32003, across a restart and a kill -9', async () => {
    const key: CreatedKey = await createApiKey(app, user.jwt, { key_name: 'quota', policy: { records_per_day: 100 } });
    const quota = (used: number) => ({ quota: 'records_per_day', scope: 'key', limit: 100, used, remaining: 100 - used, period: 'day', resets_at: nextUtcMidnight() });
    for (const [id, used] of [[1, 30], [2, 60]]) {
      const response = await rawRpc(app, latestBars(id, 30), key.api_key).expect(200);
      // Cached or not (the market cache's own suite covers that), it is metered alike.
      expect(response.body.result._meta.usage).toEqual({ table: 'ods_daily', record_count: 30, limited_by_quota: false, cached: expect.any(Boolean), quotas: [quota(used)] });
      expect(response.body.result._usage).toEqual({ record_count: 30, quota_remaining: 100 - used });
    }

    // A graceful restart: the counters are read back from ClickHouse.
    await restart('SIGTERM');
    expect(await recordsStored(app, key.key_id)).toBe(60);
    const third = await rawRpc(app, latestBars(3, 30), key.api_key).expect(200);
    expect(third.body.result._meta.usage.quotas).toEqual([quota(90)]);

    // kill -9 with the third call only in the spool: the next start ships it before it serves.
    await restart('SIGKILL');
    expect(await recordsStored(app, key.key_id)).toBe(90);
    const crossing = await rawRpc(app, latestBars(4, 30), key.api_key).expect(200);
    expect(crossing.body.result.structuredContent).toMatchObject({ row_count: 10, truncated: true });
    // The restarted process's first tool call: nothing is cached yet.
    expect(crossing.body.result._meta.usage).toEqual({ table: 'ods_daily', record_count: 10, limited_by_quota: true, cached: false, quotas: [quota(100)] });
    expect(crossing.body.result._usage).toEqual({ record_count: 10, quota_remaining: 0 });

    const refused = await rawRpc(app, latestBars(5, 1), key.api_key);
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ jsonrpc: '2.0', id: 5, error: { code: -32003, message: 'Quota exhausted', data: { ...quota(100), total: 100 } } });

    // Inside a batch the refusal is that call's answer; a call that reads nothing still runs.
    const batch = await rawRpc(app, [latestBars(6, 1), { jsonrpc: '2.0', id: 7, method: 'tools/list' }], key.api_key).expect(200);
    expect(batch.body).toEqual([
      { jsonrpc: '2.0', id: 6, error: { code: -32003, message: 'Quota exhausted', data: { ...quota(100), total: 100 } } },
      { jsonrpc: '2.0', id: 7, result: expect.objectContaining({ tools: expect.any(Array) }) },
    ]);

    await restart('SIGKILL');
    expect(await recordsStored(app, key.key_id)).toBe(100);
    expect((await rawRpc(app, latestBars(8, 1), key.api_key)).status).toBe(403);
  });

  it('gives back the hold of a lone call the SDK answers itself (task-augmented), on streamable HTTP and in a legacy SSE session', async () => {
    const key = await createApiKey(app, user.jwt, { key_name: 'task-augmented', policy: { records_per_day: 30 } });
    // This server runs no tasks: the SDK refuses such a call before its handler, after the door admitted it.
    const asTask = (id: number) => {
      const call = latestBars(id, 30);
      return { ...call, params: { ...call.params, task: { ttl: 60_000 } } };
    };
    const refused = await rawRpc(app, asTask(1), key.api_key).expect(200);
    expect(refused.body).toEqual({ jsonrpc: '2.0', id: 1, error: TASKS_UNSUPPORTED });
    const stream = await SseStream.opened(app, key.api_key);
    try {
      expect((await stream.post(asTask(2), key.api_key)).status).toBe(202);
      expect(await stream.answerTo(2)).toEqual({ jsonrpc: '2.0', id: 2, error: TASKS_UNSUPPORTED });
    } finally {
      await stream.close();
    }
    // Neither refused call holds the 30 records: a call gets them all, at once.
    const served = await rawRpc(app, latestBars(3, 30), key.api_key).expect(200);
    expect(served.body.result.structuredContent).toMatchObject({ row_count: 30, truncated: false });
  });

  it('never lets concurrent calls together pass a record quota', async () => {
    const key = await createApiKey(app, user.jwt, { key_name: 'concurrent', policy: { records_per_day: 100 } });
    const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => rawRpc(app, latestBars(i + 1, 30), key.api_key)));
    const served = responses.filter((response) => response.body.result !== undefined);
    const refused = responses.filter((response) => response.body.error?.code === -32003);
    expect(served.reduce((sum, response) => sum + (response.body.result.structuredContent.row_count as number), 0)).toBe(100);
    expect(served.length + refused.length).toBe(12);
    await restart('SIGTERM');
    expect(await recordsStored(app, key.key_id)).toBe(100);
  });

  it('lets owners tighten their keys but not loosen a default, and validates scopes', async () => {
    const key = await createApiKey(app, user.jwt, { key_name: 'edit' });
    const set = (policy: Record<string, unknown>, keyId = key.key_id) => app.rest.post('/api/mcp-keys/policy').set('Authorization', `Bearer ${user.jwt}`).send({ key_id: keyId, policy });
    const updated = await set({ tables: ['ods_daily'], calls_per_day: 10 }).expect(200);
    expect(updated.body).toEqual({
      success: true,
      key_id: key.key_id,
      policy: { tools: [], tables: ['ods_daily'], calls_per_minute: null, records_per_day: null, records_per_month: null, calls_per_day: 10 },
    });
    expect((await set({ tools: ['drop_table'] }).expect(400)).body.detail).toBe('policy.tools: not served here: "drop_table" (GET tools/list for the names)');
    expect((await set({ records_per_day: -1 }).expect(400)).body.detail).toBe('Validation failed: records_per_day must not be less than 1');
    expect((await set({ calls_per_day: 5 }, 'not-my-key').expect(404)).body.detail).toBe('API key not found');
    const withoutPolicy = await app.rest.post('/api/mcp-keys/policy').set('Authorization', `Bearer ${user.jwt}`).send({ key_id: key.key_id }).expect(400);
    expect(withoutPolicy.body.detail).toBe('Validation failed: policy is required: an object with the fields to change; policy must be an object');
    expect((await set([] as unknown as Record<string, unknown>).expect(400)).body.detail).toBe('Validation failed: policy must be an object');

    const other = await registerAndLogin(app);
    const theirs = await app.rest.post('/api/mcp-keys/policy').set('Authorization', `Bearer ${other.jwt}`).send({ key_id: key.key_id, policy: { calls_per_day: 1 } });
    expect(theirs.status).toBe(404);

    const listed = await app.rest.get('/api/mcp-keys/list').set('Authorization', `Bearer ${user.jwt}`).expect(200);
    expect(listed.body.keys.find((k: { id: string }) => k.id === key.key_id).policy).toEqual(updated.body.policy);

    // The table scope: tools over other tables are hidden and refused.
    const client = await connectSdkClient(app, key.api_key);
    try {
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      expect(names).toEqual([
        'get_daily_bars',
        'get_latest_bars',
        'tushare_daily_get_daily_data',
        'tushare_daily_get_latest_daily',
        'tushare_daily_get_daily_stats',
        'tushare_daily_get_latest_trade_date',
        'tushare_daily_get_all_daily_by_date',
      ]);
      const refused = await client.callTool({ name: 'get_trade_calendar', arguments: {} });
      expect(refused.content).toEqual([{ type: 'text', text: 'get_trade_calendar reads ods_trade_calendar, which is outside this API key\'s table scope (ods_daily)' }]);

      // Adjusted prices read ods_adj_factor too (hfq ÷ raw close would give the factors away): outside this scope.
      const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
      const range = { start_date: daysAgo(60), end_date: daysAgo(10) };
      const adjusted: [string, Record<string, unknown>][] = [
        ['get_daily_bars', { ts_code: '000001.SZ', ...range, adjust: 'hfq' }],
        ['get_daily_bars', { ts_code: '000001.SZ', ...range, adjust: 'qfq' }],
        ['get_latest_bars', { ts_codes: ['000001.SZ'], adjust: 'hfq' }],
        ['tushare_daily_get_daily_data', { code: '000001.SZ', ...range, adjust: 'hfq' }],
        ['tushare_daily_get_latest_daily', { codes: ['000001.SZ'], adjust: 'qfq' }],
      ];
      for (const [name, args] of adjusted) {
        const answer = await client.callTool({ name, arguments: args });
        expect({ name, isError: answer.isError, content: answer.content }).toEqual({
          name,
          isError: true,
          content: [{ type: 'text', text: `${name} reads ods_adj_factor, which is outside this API key's table scope (ods_daily)` }],
        });
      }
      const raw = await client.callTool({ name: 'get_daily_bars', arguments: { ts_code: '000001.SZ', ...range, adjust: 'none' } });
      expect(raw.isError).toBeFalsy();
      expect((raw.structuredContent as { rows: { adj_factor?: unknown }[] }).rows.map((row) => row.adj_factor)).toEqual((raw.structuredContent as { rows: unknown[] }).rows.map(() => undefined));
      expect((raw.structuredContent as { row_count: number }).row_count).toBeGreaterThan(15);
    } finally {
      await client.close();
    }
  });
});

describe('Quota counters of two instances on one database (e2e)', () => {
  const env = { DEMO_DATA: 'true', CLICKHOUSE_DATABASE: database, USAGE_FLUSH_INTERVAL_MS: '50', QUOTA_REFRESH_SECONDS: '1', JWT_SECRET: 'metering-e2e-secret-0123456789abcdef0123' };
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    first = await startTestApp(env, { keepDatabase: true });
    second = await startTestApp(env, { keepDatabase: true });
  });

  afterAll(async () => {
    await second.stop();
    await first.stop();
  });

  it('counts what the other instance served: at its first call, and within QUOTA_REFRESH_SECONDS after', async () => {
    const user = await registerAndLogin(first);
    const key = await createApiKey(first, user.jwt, { policy: { records_per_day: 50 } });
    await rawRpc(first, latestBars(1, 30), key.api_key).expect(200);
    await waitForCount(first, key.key_id, 1);

    // The second instance reads the counters when it first verifies the key: 20 records are left.
    const crossing = await rawRpc(second, latestBars(2, 30), key.api_key).expect(200);
    expect(crossing.body.result._meta.usage).toMatchObject({ record_count: 20, limited_by_quota: true });
    await waitForCount(first, key.key_id, 2);

    // The first instance learns of them at its next re-read of the usage log.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const refused = await rawRpc(first, latestBars(3, 1), key.api_key);
    expect(refused.status).toBe(403);
    expect(refused.body.error.data).toMatchObject({ quota: 'records_per_day', limit: 50, used: 50 });
  });
});

describe('Metering defaults from configuration (e2e)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ DEMO_DATA: 'true', CLICKHOUSE_DATABASE: database, QUOTA_KEY_RECORDS_PER_DAY: '50', QUOTA_USER_CALLS_PER_DAY: '3' }, { keepDatabase: true });
  });

  afterAll(() => app.stop());

  it('applies the key default and the per-user total over all of a user\'s keys, and forbids owners to raise a default', async () => {
    const user = await registerAndLogin(app);
    const first = await createApiKey(app, user.jwt);
    const second = await createApiKey(app, user.jwt);
    const raise = await app.rest.post('/api/mcp-keys/policy').set('Authorization', `Bearer ${user.jwt}`).send({ key_id: first.key_id, policy: { records_per_day: 51 } });
    expect(raise.status).toBe(403);
    expect(raise.body.detail).toBe('policy.records_per_day above the service default (50) can only be set by an administrator');

    const crossing = await rawRpc(app, latestBars(1, 30), first.api_key).expect(200);
    expect(crossing.body.result._meta.usage.quotas).toEqual([
      { quota: 'records_per_day', scope: 'key', limit: 50, used: 30, remaining: 20, period: 'day', resets_at: nextUtcMidnight() },
      { quota: 'calls_per_day', scope: 'user', limit: 3, used: 1, remaining: 2, period: 'day', resets_at: nextUtcMidnight() },
    ]);
    await rawRpc(app, latestBars(2, 1), second.api_key).expect(200);
    await rawRpc(app, latestBars(3, 1), second.api_key).expect(200);
    const refused = await rawRpc(app, latestBars(4, 1), first.api_key);
    expect(refused.status).toBe(403);
    expect(refused.body.error.data).toEqual({ quota: 'calls_per_day', scope: 'user', limit: 3, used: 3, remaining: 0, period: 'day', resets_at: nextUtcMidnight(), total: 3 });
  });
});
