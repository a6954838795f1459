import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { hashSync } from '@node-rs/bcrypt';
import { type LocalClickHouse, startLocalClickHouse } from '../scripts/lib/local-clickhouse.mjs';
import { queryRows, rawClient } from './support/clickhouse.js';
import { createApiKey, rawRpc, untilStatus } from './support/mcp.js';
import { itNeeding } from './support/required-tools.js';
import {
  ORIGINAL_DDL,
  ORIGINAL_VALIDATE_QUERY,
  PASSLIB_ACCOUNT,
  fixtureRows,
  insertOriginalKey,
  insertOriginalUsage,
  insertOriginalUser,
  originalJwt,
  passlibAvailable,
  passlibVerifies,
  revokeAsOriginal,
} from './support/original-service.js';
import { type TestApp, startTestApp } from './support/test-app.js';

const JWT_SECRET = 'the-secret-both-services-share-0123456789';
const TOOLS_LIST = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
const callTool = (name: string, args: Record<string, unknown>) => ({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name, arguments: args } });
const PASSLIB = passlibAvailable();
const itWithPasslib = itNeeding({ "python3's passlib and bcrypt": PASSLIB }, "scripts/ensure-passlib.sh installs Debian's python3-passlib and python3-bcrypt");

/**
 * The gateway on the original stock data service's database, as it is: its DDL, rows written the
 * way it writes them (passlib bcrypt, naive Asia/Shanghai timestamps on a server in that zone,
 * six-column usage rows, unmerged re-ingested market rows), and the gateway started on it.
 */
describe('Drop-in on the original service’s database (e2e)', () => {
  let clickhouse: LocalClickHouse;
  let dir: string;
  let client: ClickHouseClient;
  let app: TestApp;
  const database = `stock_datasource_${randomUUID().slice(0, 8)}`;
  const account = { id: randomUUID(), email: 'analyst@example.com' };
  let originalKey: { id: string; key: string };
  let originalUsageId: string;
  const columnsBefore = new Map<string, string[]>();

  const columnsOf = async (table: string) =>
    (await queryRows<{ name: string; type: string }>(client, `SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = '${table}'`)).map((c) => `${c.name} ${c.type}`);
  const login = (email: string, password: string) => app.rest.post('/api/auth/login').send({ email, password });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stock-mcp-drop-in-'));
    clickhouse = await startLocalClickHouse({ dir: join(dir, 'clickhouse'), timezone: 'Asia/Shanghai' });
    const admin = rawClient(undefined, clickhouse.url);
    await admin.command({ query: `CREATE DATABASE ${database}` });
    await admin.close();
    client = rawClient(database, clickhouse.url);
    for (const statement of ORIGINAL_DDL) await client.command({ query: statement });

    await insertOriginalUser(client, { ...account, passwordHash: PASSLIB_ACCOUNT.hash, createdAt: '2026-01-06 21:31:43' });
    originalKey = await insertOriginalKey(client, account.id, '2026-01-06 21:35:00');
    originalUsageId = await insertOriginalUsage(client, { userId: account.id, keyId: originalKey.id, toolName: 'tushare_daily_get_daily_data', createdAt: '2026-01-07 09:30:00' });
    await client.command({ query: `INSERT INTO email_whitelist (id, email, added_by) VALUES ('w1', 'listed-in-table@example.com', 'admin'), ('w2', ' Listed-As-Typed@Example.COM', 'admin')` });

    for (const table of ['ods_daily', 'ods_daily_basic', 'ods_stock_basic', 'ods_adj_factor']) {
      await client.insert({ table, values: fixtureRows(table), format: 'JSONEachRow' });
    }
    // The loader re-ingested 000001.SZ's day with a corrected close; ClickHouse has not merged it yet.
    await client.command({ query: 'SYSTEM STOP MERGES ods_daily' });
    await client.insert({
      table: 'ods_daily',
      values: [{ ...fixtureRows('ods_daily')[0], close: 11.66, version: 1767706999, _ingested_at: '2026-01-06 21:43:19' }],
      format: 'JSONEachRow',
    });
    await client.insert({ table: 'ods_trade_calendar', values: [
      { exchange: 'SSE', cal_date: '2025-12-18', is_open: 1, pretrade_date: '2025-12-17' },
      { exchange: 'SSE', cal_date: '2025-12-19', is_open: 1, pretrade_date: '2025-12-18' },
      { exchange: 'SSE', cal_date: '2025-12-20', is_open: 0, pretrade_date: '2025-12-19' },
    ], format: 'JSONEachRow' });
    for (const table of ['users', 'mcp_api_keys', 'mcp_tool_usage_log', 'ods_daily', 'ods_stock_basic']) columnsBefore.set(table, await columnsOf(table));

    const allowList = join(dir, 'email.txt');
    writeFileSync(allowList, 'Invited@Example.com\nanalyst@example.com\n');
    app = await startTestApp(
      {
        CLICKHOUSE_URL: clickhouse.url,
        CLICKHOUSE_DATABASE: database,
        DEMO_DATA: 'false',
        JWT_SECRET_KEY: JWT_SECRET,
        AUTH_EMAIL_WHITELIST_ENABLED: 'true',
        AUTH_EMAIL_WHITELIST_FILE: allowList,
        MCP_KEY_CACHE_TTL_SECONDS: '1',
      },
      { keepDatabase: true },
    );
  });

  afterAll(async () => {
    await app?.stop();
    await client?.close();
    await clickhouse?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('adopting the tables', () => {
    it("should leave the original's tables exactly as they were and add its own beside them", async () => {
      for (const [table, columns] of columnsBefore) expect([table, await columnsOf(table)]).toEqual([table, columns]);
      const tables = (await queryRows<{ name: string }>(client, 'SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name')).map((t) => t.name);
      expect(tables).toEqual([
        'admin_audit_log', 'email_whitelist', 'mcp_api_key_hashes', 'mcp_api_key_hashes_mv', 'mcp_api_key_last_used', 'mcp_api_key_policies', 'mcp_api_keys', 'mcp_oauth_clients', 'mcp_oauth_tokens',
        'mcp_tool_usage_log',
        'ods_adj_factor', 'ods_daily', 'ods_daily_basic', 'ods_stock_basic', 'ods_trade_calendar', 'users',
      ]);
    });
  });

  describe('accounts and tokens', () => {
    it('should log in an account the original registered, with its passlib bcrypt password', async () => {
      const response = await login(account.email, PASSLIB_ACCOUNT.password).expect(200);
      const me = await app.rest.get('/api/auth/me').set('Authorization', `Bearer ${response.body.access_token}`).expect(200);
      // 21:31:43 in Asia/Shanghai, where the original wrote it, is 13:31:43 UTC.
      expect(me.body).toEqual({ id: account.id, email: account.email, username: 'analyst', is_active: true, is_admin: false, subscription_tier: 'free', created_at: '2026-01-06T13:31:43Z' });
      await login(account.email, 'not-the-password').expect(401);
    });

    it("should refuse the original's default admin while it still has the password printed in the original's source", async () => {
      await insertOriginalUser(client, { id: randomUUID(), email: 'admin@localhost', passwordHash: hashSync('Admin1234', 4), createdAt: '2026-01-06 21:00:00' });
      const refused = await login('admin@localhost', 'Admin1234').expect(403);
      expect(refused.body.detail).toBe("admin@localhost still has the original service's default password; change it there before logging in here");
      await login('admin@localhost', 'Admin12345').expect(401);
    });

    it('should accept a token the original issued with the shared secret', async () => {
      const token = originalJwt(JWT_SECRET, { sub: account.id, email: account.email });
      const me = await app.rest.get('/api/auth/me').set('Authorization', `Bearer ${token}`).expect(200);
      expect(me.body.id).toBe(account.id);
      await app.rest.get('/api/auth/me').set('Authorization', `Bearer ${originalJwt('another-secret-of-at-least-32-chars!', { sub: account.id, email: account.email })}`).expect(401);
    });

    it("should store a new account in the original's column set, with a hash passlib accepts", async () => {
      await app.rest.post('/api/auth/register').send({ email: 'invited@example.com', password: 'new-password-2' }).expect(201);
      const [row] = await queryRows<Record<string, unknown>>(client, "SELECT * FROM users FINAL WHERE email = 'invited@example.com'");
      expect(Object.keys(row)).toEqual(['id', 'email', 'username', 'password_hash', 'is_active', 'is_admin', 'subscription_tier', 'created_at', 'updated_at']);
      expect(row).toMatchObject({ username: 'invited', is_active: 1, is_admin: 0, subscription_tier: 'free', password_hash: expect.stringMatching(/^\$2b\$12\$/) });
      if (PASSLIB) expect(passlibVerifies('new-password-2', row.password_hash as string)).toBe(true);
    });

    itWithPasslib('should be verified by passlib itself', () => {
      expect(passlibVerifies(PASSLIB_ACCOUNT.password, PASSLIB_ACCOUNT.hash)).toBe(true);
    });

    it('should honour the allow-list: the file, the email_whitelist table, and nobody else', async () => {
      await app.rest.post('/api/auth/register').send({ email: 'listed-in-table@example.com', password: 'new-password-3' }).expect(201);
      // A row as the operator typed it (case, a stray space) lists the address however it is typed.
      await app.rest.post('/api/auth/register').send({ email: 'listed-as-typed@example.com', password: 'new-password-6' }).expect(201);
      const refused = await app.rest.post('/api/auth/register').send({ email: 'stranger@example.com', password: 'new-password-4' }).expect(403);
      expect(refused.body.detail).toBe('Registration is limited to invited emails here; ask an administrator to add yours');
      const taken = await app.rest.post('/api/auth/register').send({ email: account.email, password: 'new-password-5' }).expect(409);
      expect(taken.body.detail).toBe('Email already registered');
    });
  });

  describe('keys', () => {
    it('should accept a key the original created, list it, and refuse it once the original revokes it', async () => {
      await rawRpc(app, TOOLS_LIST, originalKey.key).expect(200);
      const jwt = (await login(account.email, PASSLIB_ACCOUNT.password)).body.access_token as string;
      const list = await app.rest.get('/api/mcp-keys/list').set('Authorization', `Bearer ${jwt}`).expect(200);
      expect(list.body.keys).toEqual([
        { id: originalKey.id, key_name: 'from-original', api_key_prefix: `${originalKey.key.slice(0, 12)}...`, is_active: true, is_expired: false, last_used_at: expect.any(String), expires_at: null, created_at: '2026-01-06T13:35:00Z',
          policy: { tools: [], tables: [], calls_per_minute: null, records_per_day: null, records_per_month: null, calls_per_day: null } },
      ]);

      await revokeAsOriginal(client, originalKey.id, '2026-01-08 10:00:00');
      // The change feed brings the original's revoke within MCP_CHANGE_POLL_MS (1 s).
      const refused = await untilStatus(() => rawRpc(app, TOOLS_LIST, originalKey.key), 401, 3000);
      expect(refused.status).toBe(401);
      expect(refused.body.error.message).toBe('Invalid or expired API key');
    });

    it('should create keys the original finds, and revoke them the way it does', async () => {
      const jwt = (await login(account.email, PASSLIB_ACCOUNT.password)).body.access_token as string;
      const created = await createApiKey(app, jwt, { key_name: 'made-here' });
      expect(await queryRows(client, ORIGINAL_VALIDATE_QUERY(created.api_key))).toEqual([{ id: created.key_id, user_id: account.id, is_active: 1, expires_at: null }]);

      await app.rest.post('/api/mcp-keys/revoke').set('Authorization', `Bearer ${jwt}`).send({ key_id: created.key_id }).expect(200);
      expect(await queryRows(client, ORIGINAL_VALIDATE_QUERY(created.api_key))).toEqual([]);
      const versions = await queryRows<{ is_active: number; updated_at: number }>(client, `SELECT is_active, toUnixTimestamp(updated_at) AS updated_at FROM mcp_api_keys WHERE id = '${created.key_id}' ORDER BY updated_at`);
      expect(versions.map((row) => row.is_active)).toEqual([1, 0]);
      expect(versions[1].updated_at).toBeGreaterThan(versions[0].updated_at);
    });
  });

  describe('usage', () => {
    let apiKey: string;
    let jwt: string;

    beforeAll(async () => {
      jwt = (await login(account.email, PASSLIB_ACCOUNT.password)).body.access_token as string;
      apiKey = (await createApiKey(app, jwt, { key_name: 'usage' })).api_key;
    });

    it("should show the original's usage rows in history and stats", async () => {
      const history = await app.rest.get('/api/mcp-usage/history?start_date=2026-01-07&end_date=2026-01-07').set('Authorization', `Bearer ${jwt}`).expect(200);
      expect(history.body).toEqual({
        records: [
          {
            id: originalUsageId, user_id: account.id, api_key_id: originalKey.id, tool_name: 'tushare_daily_get_daily_data', service_prefix: '', table_name: '',
            arguments: '', record_count: 1, duration_ms: 0, is_error: false, error_message: null, created_at: '2026-01-07T01:30:00Z',
          },
        ],
        total: 1,
        page: 1,
        page_size: 20,
      });
    });

    it("should write new rows in the original's column set, table and exact record count filled", async () => {
      const response = await rawRpc(app, callTool('tushare_daily_get_daily_data', { code: '000001.SZ', start_date: '20251218', end_date: '20251218' }), apiKey).expect(200);
      expect(response.body.result.structuredContent.row_count).toBe(1);
      let rows: Record<string, unknown>[] = [];
      for (let attempt = 0; attempt < 50 && rows.length === 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        rows = await queryRows(client, `SELECT * FROM mcp_tool_usage_log WHERE user_id = '${account.id}' AND tool_name = 'tushare_daily_get_daily_data' AND id != '${originalUsageId}'`);
      }
      expect(rows).toEqual([
        expect.objectContaining({ service_prefix: 'tushare_daily', table_name: 'ods_daily', record_count: '1', is_error: 0, error_message: '', arguments: '{"code":"000001.SZ","start_date":"20251218","end_date":"20251218"}' }),
      ]);
    });
  });

  describe('market data as it really is', () => {
    let apiKey: string;

    beforeAll(async () => {
      const jwt = (await login(account.email, PASSLIB_ACCOUNT.password)).body.access_token as string;
      apiKey = (await createApiKey(app, jwt, { key_name: 'market' })).api_key;
    });

    const call = async (name: string, args: Record<string, unknown>) => {
      const response = await rawRpc(app, callTool(name, args), apiKey).expect(200);
      expect(response.body.result.isError).toBeUndefined();
      return response.body.result as { structuredContent: { rows: Record<string, unknown>[]; row_count: number }; content: { text: string }[] };
    };

    it('should show an unmerged re-ingested day once, the newest version', async () => {
      const [stored] = await queryRows<{ n: string }>(client, "SELECT count() AS n FROM ods_daily WHERE ts_code = '000001.SZ'");
      expect(stored.n).toBe('2');
      const bars = await call('get_daily_bars', { ts_code: '000001.SZ' });
      expect(bars.structuredContent.rows).toEqual([
        { ts_code: '000001.SZ', trade_date: '2025-12-18', open: 11.51, high: 11.65, low: 11.48, close: 11.66, pre_close: 11.53, change: 0.11, pct_chg: 0.954, vol: 790466.54, amount: 916247.611 },
      ]);
      const original = await call('tushare_daily_get_daily_data', { code: '000001', start_date: 20251218, end_date: '2025-12-18' });
      expect(JSON.parse(original.content[0].text)).toEqual([
        { ts_code: '000001.SZ', trade_date: '2025-12-18', open: 11.51, high: 11.65, low: 11.48, close: 11.66, vol: 790466.54, amount: 916247.611 },
      ]);
    });

    it("should read the original's ods_stock_basic (no exchange column) and return NULL metrics as null", async () => {
      const stocks = await call('search_stocks', { query: '茅台' });
      expect(stocks.structuredContent.rows).toEqual([
        { ts_code: '600519.SH', symbol: '600519', name: '贵州茅台', area: '贵州', industry: '白酒', market: '', list_date: '2001-08-27', delist_date: null, list_status: 'L' },
      ]);
      const basic = await call('tushare_daily_basic_get_latest_daily_basic', { codes: '000002.SZ,688800.SH' });
      expect(basic.structuredContent.rows.map((row) => [row.ts_code, row.pe, row.dv_ratio, row.dv_ttm])).toEqual([
        ['000002.SZ', null, 0, null],
        ['688800.SH', 90.5336, null, null],
      ]);
      const names = await call('tushare_stock_basic_get_all_stock_names', {});
      expect(JSON.parse(names.content[0].text)).toEqual({ '000001.SZ': '平安银行', '000002.SZ': '万科A', '600519.SH': '贵州茅台', '601225.SH': '陕西煤业', '688800.SH': '瑞可达' });
    });

    it('should answer the original tool names with typed results and defaults that apply', async () => {
      const stats = await call('tushare_daily_get_daily_stats', { code: '600519.SH', start_date: '20251201', end_date: '20251231' });
      expect(JSON.parse(stats.content[0].text)).toEqual({ trading_days: 1, min_close: 1431, max_close: 1431, avg_close: 1431, total_volume: 17829.95, total_amount: 2551177.659 });
      const latest = await call('tushare_daily_get_latest_trade_date', {});
      expect(latest.content[0].text).toBe('2025-12-18');
      const next = await call('tushare_trade_calendar_get_next_trading_day', { date: '20251218' });
      expect(next.structuredContent.rows).toEqual([{ exchange: 'SSE', cal_date: '2025-12-19', is_open: 1, pretrade_date: '2025-12-18' }]);
      const industries = await call('tushare_stock_basic_get_all_industries', {});
      expect(industries.structuredContent.rows[0]).toEqual({ industry: '元器件', stock_count: 1 });
      const hfq = await call('get_daily_bars', { ts_code: '600519.SH', adjust: 'hfq' });
      // 1431 × 8.305 is 11884.454999… in binary; pro_bar's '%.2f' writes 11884.45.
      expect(hfq.structuredContent.rows.map((row) => [row.close, row.adj_factor])).toEqual([[11884.45, 8.305]]);
    });
  });

  describe('refusing a table it cannot use', () => {
    it('should exit 78 naming the table and column, and change nothing', () => {
      const broken = `broken_${randomUUID().slice(0, 8)}`;
      const setup = spawnSync('curl', ['-s', `${clickhouse.url}/`, '--data-binary', `CREATE DATABASE ${broken}`]);
      expect(setup.status).toBe(0);
      spawnSync('curl', ['-s', `${clickhouse.url}/?database=${broken}`, '--data-binary', 'CREATE TABLE mcp_tool_usage_log (id String, user_id String, tool_name String, record_count String, created_at DateTime) ENGINE = MergeTree ORDER BY (user_id, created_at)']);
      const result = spawnSync(process.execPath, [resolve(import.meta.dirname, '../dist/main.js')], {
        env: { PATH: process.env.PATH, CLICKHOUSE_URL: clickhouse.url, CLICKHOUSE_DATABASE: broken, HTTP_PORT: '0', MCP_PORT: '0', DEMO_DATA: 'false', LOG_LEVEL: 'error', USAGE_SPOOL_DIR: join(dir, 'broken-spool') },
        encoding: 'utf8',
      });
      expect(result.status).toBe(78);
      expect(result.stderr).toContain('The database has tables this service cannot use:');
      expect(result.stderr).toContain('table mcp_tool_usage_log column record_count is String; this service needs a non-nullable integer column such as Int64');
      expect(result.stderr).toContain('table mcp_tool_usage_log has no column api_key_id (String), which this service reads and writes; add it: ALTER TABLE mcp_tool_usage_log ADD COLUMN api_key_id String');
      const columns = spawnSync('curl', ['-s', `${clickhouse.url}/?database=${broken}`, '--data-binary', "SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = 'mcp_tool_usage_log'"], { encoding: 'utf8' });
      expect(columns.stdout.trim()).toBe('5');
    });
  });
});

describe('Tool sets (e2e)', () => {
  it('should list and serve only the sets MCP_TOOL_SETS names', async () => {
    const app = await startTestApp({ MCP_TOOL_SETS: 'stock' });
    try {
      const user = await app.rest.post('/api/auth/register').send({ email: 'sets@example.com', password: 'password-123' }).expect(201);
      const jwt = (await app.rest.post('/api/auth/login').send({ email: 'sets@example.com', password: 'password-123' }).expect(200)).body.access_token as string;
      expect(user.body.user.email).toBe('sets@example.com');
      const key = await createApiKey(app, jwt);
      const listed = await rawRpc(app, TOOLS_LIST, key.api_key).expect(200);
      expect(listed.body.result.tools.map((tool: { name: string }) => tool.name)).toEqual(['search_stocks', 'get_daily_bars', 'get_latest_bars', 'get_trade_calendar', 'get_daily_basic']);
      const hidden = await rawRpc(app, callTool('tushare_daily_get_latest_trade_date', {}), key.api_key).expect(200);
      expect(hidden.body.error).toEqual({ code: -32602, message: 'Unknown tool: "tushare_daily_get_latest_trade_date"' });
    } finally {
      await app.stop();
    }
  });
});

