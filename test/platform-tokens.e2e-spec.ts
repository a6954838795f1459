import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Sql, dateTime, sql, str } from '../src/clickhouse/sql.js';
import { unixSeconds } from '../src/clickhouse/datetime.js';
import { platformTokenKeyId } from '../src/platform-tokens/platform-token.js';
import { grantAdmin } from './support/admin-cli.js';
import { queryRows, rawClient } from './support/clickhouse.js';
import { connectSdkClient, createApiKey, rawRpc } from './support/mcp.js';
import { packClaims, packToken, platformKeyPair, signHs256, signRs256, unsigned } from './support/platform-tokens.js';
import { type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';
import { waitForCount } from './support/usage-log.js';
import { usageRecordFixture } from './support/usage-record.js';

const CODES = ['000001.SZ', '000002.SZ', '000063.SZ', '000333.SZ', '000568.SZ', '000651.SZ', '000725.SZ', '000858.SZ', '002415.SZ', '002475.SZ',
  '002594.SZ', '002714.SZ', '300015.SZ', '300059.SZ', '300124.SZ', '300274.SZ', '300750.SZ', '300760.SZ', '600000.SH', '600028.SH'];
/** One latest bar per code: a call that returns exactly `n` records. */
const latestBars = (n: number) => ({ name: 'get_latest_bars', arguments: { ts_codes: CODES.slice(0, n) } });
const latestBarsRpc = (id: number, n: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: latestBars(n) });
const REPORT_KEY = 'report-key-for-the-platform-0123456789';
const INVALID_KEY = { code: -32001, message: 'Invalid or expired API key' };
/** The failed key checks an address may make before it is throttled, in this suite. */
const AUTH_FAILURE_LIMIT = 12;

interface ToolUsageRow {
  tool_name: string;
  calls: number;
  records: number;
}

/** What a user would sum with clickhouse-client: a subject's calls and records per tool, from `since` on. */
async function sumInClickHouse(app: TestApp, username: string, since?: Date): Promise<ToolUsageRow[]> {
  const client = rawClient(app.database, app.clickhouseUrl);
  const from: Sql = since ? sql`AND created_at >= ${dateTime(since)}` : sql``;
  try {
    const rows = await queryRows<{ tool_name: string; calls: string; records: string }>(client, sql`
      SELECT tool_name, count() AS calls, sum(record_count) AS records FROM mcp_tool_usage_log
      WHERE user_id = ${str(username)} ${from} GROUP BY tool_name ORDER BY tool_name`.text);
    return rows.map((row) => ({ tool_name: row.tool_name, calls: Number(row.calls), records: Number(row.records) }));
  } finally {
    await client.close();
  }
}

async function rowsOfKey(app: TestApp, keyId: string): Promise<{ user_id: string; record_count: string }[]> {
  const client = rawClient(app.database, app.clickhouseUrl);
  try {
    return await queryRows(client, sql`SELECT user_id, record_count FROM mcp_tool_usage_log WHERE api_key_id = ${str(keyId)} ORDER BY created_at, id`.text);
  } finally {
    await client.close();
  }
}

async function insertUsage(app: TestApp, records: ReturnType<typeof usageRecordFixture>[]): Promise<void> {
  const client = rawClient(app.database, app.clickhouseUrl);
  try {
    await client.insert({ table: 'mcp_tool_usage_log', values: records, format: 'JSONEachRow' });
  } finally {
    await client.close();
  }
}

const summary = (app: TestApp, query: string) => app.mcp.get(`/usage/summary${query}`);
const byToolOrder = (rows: ToolUsageRow[]) => [...rows].sort((a, b) => b.records - a.records || a.tool_name.localeCompare(b.tool_name));

describe('Query-pack tokens of the management platform (e2e)', () => {
  const platform = platformKeyPair();
  const stranger = platformKeyPair();
  const dir = mkdtempSync(join(tmpdir(), 'platform-key-'));
  const publicKeyPath = join(dir, 'platform-public.pem');
  let app: TestApp;

  beforeAll(async () => {
    writeFileSync(publicKeyPath, platform.publicPem);
    app = await startTestApp({
      DEMO_DATA: 'true',
      MCP_JWT_PUBLIC_KEY_PATH: publicKeyPath,
      MCP_USAGE_REPORT_KEY: REPORT_KEY,
      MCP_AUTH_FAILURE_LIMIT: String(AUTH_FAILURE_LIMIT),
      MCP_THROTTLED_HOLD_MS: '0',
      USAGE_FLUSH_INTERVAL_MS: '100',
    });
    // alice's calls the original service logged last year: her pack counts them too.
    await insertUsage(app, [
      usageRecordFixture({ user_id: 'alice', api_key_id: '', tool_name: 'get_daily_bars', record_count: 7, created_at: unixSeconds(new Date('2025-01-05T10:00:00Z')) }),
      usageRecordFixture({ user_id: 'alice', api_key_id: '', tool_name: 'search_stocks', record_count: 4, created_at: unixSeconds(new Date('2025-03-01T00:00:00Z')) }),
    ]);
  });

  afterAll(async () => {
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const aliceToken = packToken(platform.privateKey, 'alice', 1000);

  it('serves a pack token through the official SDK client, with quota_remaining counted from the usage log', async () => {
    const token = aliceToken;
    const client = await connectSdkClient(app, token);
    try {
      const first = await client.callTool(latestBars(3));
      expect(first.isError).toBeFalsy();
      // 1000 - 11 already in the log - 3 now.
      expect(first._usage).toEqual({ record_count: 3, quota_remaining: 986 });
      expect(first._meta).toEqual({
        usage: { table: 'ods_daily', record_count: 3, limited_by_quota: false, cached: false, quotas: [{ quota: 'pack_records', scope: 'user', limit: 1000, used: 14, remaining: 986, period: 'all', resets_at: null }] },
      });
      expect((await client.callTool(latestBars(2)))._usage).toEqual({ record_count: 2, quota_remaining: 984 });
      expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('get_latest_bars');
    } finally {
      await client.close();
    }
    const keyId = platformTokenKeyId(token);
    await waitForCount(app, keyId, 2);
    expect(await rowsOfKey(app, keyId)).toEqual([
      { user_id: 'alice', record_count: '3' },
      { user_id: 'alice', record_count: '2' },
    ]);
  });

  it('answers GET /usage/summary in the original\'s shape, equal to a direct ClickHouse sum, with and without since', async () => {
    const expectations: [string, string, Date | undefined][] = [
      ['', 'all_time', undefined],
      ['&since=2025-02-01', '2025-02-01', new Date('2025-02-01T00:00:00Z')],
      ['&since=2025-03-01%2000:00:00', '2025-03-01 00:00:00', new Date('2025-03-01T00:00:00Z')],
      ['&since=2025-03-01T00:00:01Z', '2025-03-01T00:00:01Z', new Date('2025-03-01T00:00:01Z')],
    ];
    for (const [query, since, from] of expectations) {
      const answer = await summary(app, `?username=alice${query}`).set('X-Report-Key', REPORT_KEY).expect(200);
      const direct = byToolOrder(await sumInClickHouse(app, 'alice', from));
      expect(answer.body).toEqual({
        username: 'alice',
        since,
        total_calls: direct.reduce((sum, row) => sum + row.calls, 0),
        total_records: direct.reduce((sum, row) => sum + row.records, 0),
        by_tool: direct,
      });
    }
    // The exact figures: two old calls, the two of the test above.
    expect((await summary(app, '?username=alice').set('X-Report-Key', REPORT_KEY)).body).toEqual({
      username: 'alice',
      since: 'all_time',
      total_calls: 4,
      total_records: 16,
      by_tool: [
        { tool_name: 'get_daily_bars', calls: 1, records: 7 },
        { tool_name: 'get_latest_bars', calls: 2, records: 5 },
        { tool_name: 'search_stocks', calls: 1, records: 4 },
      ],
    });
    expect((await summary(app, '?username=alice&since=2025-03-01T00:00:01Z').set('Authorization', `Bearer ${REPORT_KEY}`).expect(200)).body).toMatchObject({ total_calls: 2, total_records: 5 });
    expect((await summary(app, '?username=nobody').set('X-Report-Key', REPORT_KEY).expect(200)).body).toEqual({ username: 'nobody', since: 'all_time', total_calls: 0, total_records: 0, by_tool: [] });
  });

  it('refuses /usage/summary without the report key or with a wrong one (401), and bad parameters (400)', async () => {
    const unauthorized = { error: 'Unauthorized' };
    expect((await summary(app, '?username=alice').expect(401)).body).toEqual(unauthorized);
    expect((await summary(app, '?username=alice').set('X-Report-Key', `${REPORT_KEY}x`).expect(401)).body).toEqual(unauthorized);
    expect((await summary(app, '?username=alice').set('Authorization', 'Bearer wrong').expect(401)).body).toEqual(unauthorized);
    expect((await summary(app, '?username=alice').set('Authorization', `Bearer ${packToken(platform.privateKey, 'alice', 10)}`).expect(401)).body).toEqual(unauthorized);
    expect((await summary(app, '').set('X-Report-Key', REPORT_KEY).expect(400)).body).toEqual({ error: 'username is required' });
    expect((await summary(app, '?username=alice&since=2025-02-30').set('X-Report-Key', REPORT_KEY).expect(400)).body).toEqual({
      error: 'since must be a date (YYYY-MM-DD) or a date-time (YYYY-MM-DD HH:MM:SS, UTC unless it names a zone) between 1970 and 2106',
    });
    expect((await app.mcp.post('/usage/summary?username=alice').set('X-Report-Key', REPORT_KEY).expect(405)).headers.allow).toBe('GET');
  });

  it('never serves more than a 60-record pack to 6 parallel calls, then refuses with 403 -32003; a new token with a larger pack goes on', async () => {
    const token = packToken(platform.privateKey, 'bob', 60);
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => rawRpc(app, latestBarsRpc(i + 1, 20), token)));
    const served = answers.filter((answer) => answer.body.result);
    const refused = answers.filter((answer) => !answer.body.result);
    expect(served.reduce((sum, answer) => sum + (answer.body.result._usage.record_count as number), 0)).toBe(60);
    expect(served.length + refused.length).toBe(6);
    for (const answer of refused) expect(answer.body.error).toMatchObject({ code: -32003, message: 'Quota exhausted', data: { total: 60, used: 60 } });

    const next = await rawRpc(app, latestBarsRpc(7, 1), token);
    expect(next.status).toBe(403);
    expect(next.body).toEqual({
      jsonrpc: '2.0',
      id: 7,
      error: { code: -32003, message: 'Quota exhausted', data: { quota: 'pack_records', scope: 'user', limit: 60, used: 60, remaining: 0, period: 'all', resets_at: null, total: 60 } },
    });
    await waitForCount(app, platformTokenKeyId(token), served.length);
    expect(await sumInClickHouse(app, 'bob')).toEqual([{ tool_name: 'get_latest_bars', calls: served.length, records: 60 }]);

    // The platform issues a new token when a second pack is bought: its total is both packs, the 60 used stay used.
    const larger = await rawRpc(app, latestBarsRpc(8, 20), packToken(platform.privateKey, 'bob', 100, { iat: Math.floor(Date.now() / 1000) + 1 }));
    expect(larger.status).toBe(200);
    expect(larger.body.result._usage).toEqual({ record_count: 20, quota_remaining: 20 });
  });

  it('serves a subscription token that carries no pack unmetered, as the original does', async () => {
    const token = packToken(platform.privateKey, 'carol', 0, { scope: { type: 'realtime_stock', markets: ['a_share'] } });
    const answer = await rawRpc(app, latestBarsRpc(1, 4), token).expect(200);
    expect(answer.body.result._usage).toEqual({ record_count: 4 });
    expect(answer.body.result._meta.usage.quotas).toEqual([]);
  });

  it("shows a token's calls in the administrators' usage summary, under the buyer's username and the token's key id", async () => {
    const admin = await registerAndLogin(app);
    await grantAdmin(app, admin.email);
    const grouped = async (group: 'user' | 'key') =>
      ((await app.rest.get(`/api/admin/usage/summary?group_by=${group}`).set('Authorization', `Bearer ${admin.jwt}`).expect(200)).body as { rows: { key: string }[] }).rows;
    // Last 30 days: alice's two calls of the first test (last year's are outside).
    expect((await grouped('user')).find((row) => row.key === 'alice')).toMatchObject({ key: 'alice', calls: 2, records: 5, errors: 0, email: null });
    expect((await grouped('key')).find((row) => row.key === platformTokenKeyId(aliceToken))).toMatchObject({ calls: 2, records: 5 });
  });

  it('leaves sk- keys as they were', async () => {
    const user = await registerAndLogin(app);
    const key = await createApiKey(app, user.jwt, { key_name: 'beside-platform-tokens' });
    const answer = await rawRpc(app, latestBarsRpc(1, 3), key.api_key).expect(200);
    expect(answer.body.result._usage).toEqual({ record_count: 3 });
    await waitForCount(app, key.key_id, 1);
    expect(await rowsOfKey(app, key.key_id)).toEqual([{ user_id: user.id, record_count: '3' }]);
  });

  it('refuses forged, expired and not-yet-valid tokens with 401, and throttles an address that sends too many', async () => {
    const now = Math.floor(Date.now() / 1000);
    const genuine = packToken(platform.privateKey, 'mallory', 60);
    expect((await rawRpc(app, latestBarsRpc(1, 1), genuine)).status).toBe(200);
    const [header, , signature] = genuine.split('.');
    const bad = {
      expired: packToken(platform.privateKey, 'mallory', 60, { exp: now - 1 }),
      'not yet valid': packToken(platform.privateKey, 'mallory', 60, { nbf: now + 3600 }),
      'signed by another key': packToken(stranger.privateKey, 'mallory', 60),
      'HS256 keyed with the public key': signHs256(packClaims('mallory', 60), platform.publicPem),
      'alg none': unsigned(packClaims('mallory', 60)),
      'alg none with a signature': unsigned(packClaims('mallory', 60), signature),
      'RS256 under an HS256 header': signRs256({ alg: 'HS256' }, packClaims('mallory', 60), platform.privateKey),
      'tampered claims': `${header}.${Buffer.from(JSON.stringify(packClaims('mallory', 1_000_000))).toString('base64url')}.${signature}`,
      'a scope type the original refuses': packToken(platform.privateKey, 'mallory', 60, { scope: { type: 'admin' } }),
    };
    for (const [name, token] of Object.entries(bad)) {
      const answer = await rawRpc(app, latestBarsRpc(1, 1), token);
      expect({ name, status: answer.status, error: answer.body.error }).toEqual({ name, status: 401, error: INVALID_KEY });
    }
    // Counted like bad keys: the rest of the limit, then 429.
    for (let failures = Object.keys(bad).length; failures < AUTH_FAILURE_LIMIT; failures++) expect((await rawRpc(app, latestBarsRpc(1, 1), bad.expired)).status).toBe(401);
    const throttled = await rawRpc(app, latestBarsRpc(1, 1), bad['tampered claims']);
    expect(throttled.status).toBe(429);
    // A token known to be valid still passes from the throttled address; a valid one never seen waits like any stranger's.
    expect((await rawRpc(app, latestBarsRpc(2, 1), genuine)).status).toBe(200);
    expect((await rawRpc(app, latestBarsRpc(3, 1), packToken(platform.privateKey, 'mallory', 61))).status).toBe(429);
  });
});

describe('Without the platform settings (e2e)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });

  afterAll(async () => {
    await app.stop();
  });

  it('refuses platform tokens with 401 and does not serve /usage/summary', async () => {
    const { privateKey } = platformKeyPair();
    const answer = await rawRpc(app, latestBarsRpc(1, 1), packToken(privateKey, 'alice', 60));
    expect(answer.status).toBe(401);
    expect(answer.body.error).toEqual(INVALID_KEY);
    expect((await summary(app, '?username=alice').expect(404)).body.error.message).toBe('Not found: "/usage/summary"; the MCP endpoint is POST /messages');
  });
});
