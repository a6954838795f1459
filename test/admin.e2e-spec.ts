import { randomUUID } from 'node:crypto';
import { unixSeconds } from '../src/clickhouse/datetime.js';
import { grantAdmin } from './support/admin-cli.js';
import { queryRows, rawClient } from './support/clickhouse.js';
import { type CreatedKey, createApiKey, rawRpc } from './support/mcp.js';
import { type LoggedInUser, type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';
import { waitForCount } from './support/usage-log.js';
import { usageRecordFixture } from './support/usage-record.js';

const DAY_MS = 86_400_000;
const ADMIN_EMAIL = 'root@example.com';
const TOOLS_LIST = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
const toolCall = (id: number, name: string, args: Record<string, unknown>) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

const isoDay = (at: number) => new Date(at).toISOString().slice(0, 10);
const TODAY = isoDay(Date.now());
/** Outside the default 30-day window, inside a 366-day range. */
const PAST_DAY = isoDay(Date.now() - 40 * DAY_MS);
const instant = (iso: string) => unixSeconds(new Date(iso));

/** What a summary row must match, from the test's own GROUP BY over the table. */
const GROUP_EXPRESSIONS = { user: 'user_id', key: 'api_key_id', tool: 'tool_name', table: 'table_name', day: "toString(toDate(created_at, 'UTC'))" } as const;
type Group = keyof typeof GROUP_EXPRESSIONS;

interface Counted {
  key: string;
  calls: number;
  records: number;
  errors: number;
}

describe('Admin API (e2e)', () => {
  let app: TestApp;
  let admin: LoggedInUser;
  let alice: LoggedInUser;
  let bob: LoggedInUser;
  let aliceKey: CreatedKey;
  let bobKey: CreatedKey;
  const ghostUserId = randomUUID();

  const as = (user: LoggedInUser) => ({ Authorization: `Bearer ${user.jwt}` });

  /** Calls, records and errors per group in [start, end] (UTC days), counted straight from ClickHouse. */
  async function directCounts(group: Group | undefined, start: string, end: string): Promise<Counted[]> {
    const client = rawClient(app.database);
    try {
      const key = group ? GROUP_EXPRESSIONS[group] : "''";
      const rows = await queryRows<{ key: string; calls: string; records: string; errors: string }>(
        client,
        `SELECT ${key} AS key, count() AS calls, sum(record_count) AS records, sum(is_error) AS errors
         FROM mcp_tool_usage_log
         WHERE created_at >= toDateTime('${start} 00:00:00', 'UTC') AND created_at < toDateTime('${end} 00:00:00', 'UTC') + 86400
         GROUP BY key
         ORDER BY records DESC, calls DESC, key`,
      );
      return rows.map((row) => ({ key: row.key, calls: Number(row.calls), records: Number(row.records), errors: Number(row.errors) }));
    } finally {
      await client.close();
    }
  }

  const counted = ({ key, calls, records, errors }: Counted) => ({ key, calls, records, errors });

  beforeAll(async () => {
    app = await startTestApp({ DEMO_DATA: 'true', USAGE_FLUSH_INTERVAL_MS: '50' });
    admin = await registerAndLogin(app, ADMIN_EMAIL);
    await grantAdmin(app, ADMIN_EMAIL);
    alice = await registerAndLogin(app, 'admin-alice@example.com');
    bob = await registerAndLogin(app, 'admin-bob@example.com');
    aliceKey = await createApiKey(app, alice.jwt, { key_name: 'alice-admin' });
    bobKey = await createApiKey(app, bob.jwt, { key_name: 'bob-admin' });

    // Real calls through the MCP endpoint: successes with rows, and failures (bad arguments).
    const aliceCalls = [
      toolCall(1, 'search_stocks', { query: '银行' }),
      toolCall(2, 'get_daily_bars', { ts_code: '000001.SZ', start_date: '20251103', end_date: '20251107' }),
      toolCall(3, 'get_daily_bars', { ts_code: 'bad code' }),
      toolCall(4, 'get_trade_calendar', { start_date: '2025-11-01', end_date: '2025-11-30' }),
    ];
    for (const call of aliceCalls) await rawRpc(app, call, aliceKey.api_key).expect(200);
    const bobCalls = [toolCall(5, 'search_stocks', { query: '600' }), toolCall(6, 'get_daily_basic', { ts_code: 'nope' })];
    for (const call of bobCalls) await rawRpc(app, call, bobKey.api_key).expect(200);
    expect(await waitForCount(app, aliceKey.key_id, 4)).toBe(4);
    expect(await waitForCount(app, bobKey.key_id, 2)).toBe(2);

    // Older rows written as the original service would, around the range's edges; one user has no account.
    const client = rawClient(app.database);
    const rows = [
      usageRecordFixture({ user_id: alice.id, api_key_id: aliceKey.key_id, tool_name: 'get_daily_bars', table_name: 'ods_daily', record_count: 7, created_at: instant(`${PAST_DAY}T00:00:00Z`) }),
      usageRecordFixture({ user_id: ghostUserId, api_key_id: 'ghost-key', tool_name: 'legacy_tool', table_name: 'ods_legacy', record_count: 100, is_error: 1, created_at: instant(`${PAST_DAY}T23:59:59Z`) }),
      usageRecordFixture({ user_id: ghostUserId, api_key_id: 'ghost-key', tool_name: 'legacy_tool', table_name: 'ods_legacy', record_count: 100, created_at: instant(`${PAST_DAY}T12:00:00Z`) }),
      // One second before the range, and the first second after it: never counted.
      usageRecordFixture({ user_id: bob.id, record_count: 1000, created_at: instant(`${PAST_DAY}T00:00:00Z`) - 1 }),
      usageRecordFixture({ user_id: bob.id, record_count: 1000, created_at: instant(`${TODAY}T00:00:00Z`) + DAY_MS / 1000 }),
    ];
    await client.insert({ table: 'mcp_tool_usage_log', values: rows, format: 'JSONEachRow' });
    await client.close();
  });

  afterAll(async () => {
    await app.stop();
  });

  describe('access', () => {
    const SOME_ID = randomUUID();
    const EXPECTED_ROUTES = [
      'DELETE /api/admin/users/{user_id}/admin',
      'GET /api/admin/audit-log',
      'GET /api/admin/usage/summary',
      'GET /api/admin/users',
      'GET /api/admin/users/{user_id}/keys',
      'POST /api/admin/keys/{key_id}/revoke',
      'POST /api/admin/users/{user_id}/admin',
      'POST /api/admin/users/{user_id}/disable',
      'POST /api/admin/users/{user_id}/enable',
      'PUT /api/admin/keys/{key_id}/policy',
    ];

    /** Every admin route the OpenAPI document lists, so a route added later cannot skip these checks. */
    interface Operation {
      tags: string[];
      security: unknown;
      responses: Record<string, unknown>;
    }

    async function adminRoutes(): Promise<{ method: string; path: string; operation: Operation }[]> {
      const document = (await app.rest.get('/docs-json').expect(200)).body;
      return Object.entries<Record<string, Operation>>(document.paths)
        .filter(([path]) => path.startsWith('/api/admin'))
        .flatMap(([path, operations]) => Object.entries(operations).map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })));
    }

    const send = (method: string, path: string) => {
      const url = path.replace(/\{\w+\}/g, SOME_ID);
      if (method === 'GET') return app.rest.get(url);
      if (method === 'DELETE') return app.rest.delete(url);
      return (method === 'PUT' ? app.rest.put(url) : app.rest.post(url)).send({});
    };

    it('should document the admin routes under the admin tag, with their 401 and 403', async () => {
      const routes = await adminRoutes();
      expect(routes.map((route) => `${route.method} ${route.path}`).sort()).toEqual(EXPECTED_ROUTES);
      for (const { operation } of routes) {
        expect(operation.tags).toEqual(['admin']);
        expect(operation.security).toEqual([{ bearer: [] }]);
        expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['200', '401', '403']));
      }
    });

    it('should answer 401 to an anonymous caller and 403 to a user who is not an admin on every admin route', async () => {
      const routes = await adminRoutes();
      const seen = [];
      for (const { method, path } of routes) {
        const anonymous = await send(method, path);
        const stranger = await send(method, path).set('Authorization', 'Bearer not-a-jwt');
        const user = await send(method, path).set(as(alice));
        seen.push({ route: `${method} ${path}`, anonymous: anonymous.status, badToken: stranger.status, user: user.status, detail: user.body.detail });
      }
      expect(seen).toEqual(routes.map(({ method, path }) => ({ route: `${method} ${path}`, anonymous: 401, badToken: 401, user: 403, detail: 'Administrators only' })));
    });
  });

  describe('usage summary', () => {
    const summary = (query: string) => app.rest.get(`/api/admin/usage/summary?${query}`).set(as(admin));

    it.each(['user', 'key', 'tool', 'table', 'day'] as const)('should equal a direct ClickHouse count grouped by %s', async (group) => {
      const response = await summary(`start_date=${PAST_DAY}&end_date=${TODAY}&group_by=${group}`).expect(200);
      const body = response.body;
      const [totals] = await directCounts(undefined, PAST_DAY, TODAY);
      expect({ ...body, totals: counted({ key: '', ...body.totals }), rows: body.rows.map(counted) }).toEqual({
        start_date: PAST_DAY,
        end_date: TODAY,
        group_by: group,
        totals,
        rows: await directCounts(group, PAST_DAY, TODAY),
        truncated: false,
      });
      // 6 MCP calls (2 failed) and 3 older rows (1 failed): the edge rows outside the range are not counted.
      expect(counted({ key: '', ...body.totals })).toEqual({ key: '', calls: 9, records: totals.records, errors: 3 });
      expect(body.totals.p95_ms).toBeGreaterThanOrEqual(body.totals.p50_ms);
      for (const row of body.rows) expect([typeof row.calls, typeof row.records, typeof row.errors, typeof row.p50_ms]).toEqual(['number', 'number', 'number', 'number']);
    });

    it('should name the users by email, and null for an id without an account', async () => {
      const body = (await summary(`start_date=${PAST_DAY}&end_date=${TODAY}&group_by=user`).expect(200)).body;
      const emails = Object.fromEntries(body.rows.map((row: { key: string; email: string | null }) => [row.key, row.email]));
      expect(emails).toEqual({ [alice.id]: alice.email, [bob.id]: bob.email, [ghostUserId]: null });
      expect(body.rows[0]).toMatchObject({ key: ghostUserId, calls: 2, records: 200, errors: 1 });
    });

    it('should put the older rows on their UTC day', async () => {
      const body = (await summary(`start_date=${PAST_DAY}&end_date=${PAST_DAY}&group_by=day`).expect(200)).body;
      expect(body.rows.map(counted)).toEqual([{ key: PAST_DAY, calls: 3, records: 207, errors: 1 }]);
    });

    it('should cover the last 30 days, today included, by default', async () => {
      const body = (await summary('').expect(200)).body;
      expect(body).toMatchObject({ start_date: isoDay(Date.now() - 29 * DAY_MS), end_date: TODAY, group_by: 'user', truncated: false });
      expect(counted({ key: '', ...body.totals })).toEqual((await directCounts(undefined, body.start_date, TODAY))[0]);
      expect(body.totals.calls).toBe(6);
    });
  });

  describe('users', () => {
    it('should list every account newest first, the administrator as admin', async () => {
      const body = (await app.rest.get('/api/admin/users?page=1&page_size=10').set(as(admin)).expect(200)).body;
      expect(body).toMatchObject({ total: 3, page: 1, page_size: 10 });
      type Listed = { id: string; email: string; is_admin: boolean; is_active: boolean; created_at: string };
      const users: Listed[] = body.users;
      // Accounts made within one second tie on created_at; the id decides between them.
      const key = (user: Listed) => `${user.created_at} ${user.id}`;
      const newestFirst = [...users].sort((a, b) => (key(a) < key(b) ? 1 : -1));
      expect(users).toEqual(newestFirst);
      expect(users.map((user) => [user.email, user.is_admin, user.is_active]).sort()).toEqual([
        [bob.email, false, true],
        [alice.email, false, true],
        [ADMIN_EMAIL, true, true],
      ].sort());
      expect(Object.keys(users[0]).sort()).toEqual(['created_at', 'email', 'id', 'is_active', 'is_admin', 'subscription_tier', 'username']);
      const second = (await app.rest.get('/api/admin/users?page=2&page_size=1').set(as(admin)).expect(200)).body;
      expect(second.users.map((user: Listed) => user.id)).toEqual([users[1].id]);
    });

    it("should refuse a disabled user's JWT, login and MCP key on the next request, and accept them all again once enabled", async () => {
      await rawRpc(app, TOOLS_LIST, aliceKey.api_key).expect(200);
      const disabled = await app.rest.post(`/api/admin/users/${alice.id}/disable`).set(as(admin)).expect(200);
      expect(disabled.body).toMatchObject({ id: alice.id, email: alice.email, is_active: false, is_admin: false });

      expect((await app.rest.get('/api/auth/me').set(as(alice)).expect(401)).body.detail).toBe('User not found or disabled');
      expect((await app.rest.post('/api/auth/login').send({ email: alice.email, password: alice.password }).expect(403)).body.detail).toBe('This account is disabled');
      expect((await rawRpc(app, TOOLS_LIST, aliceKey.api_key).expect(401)).body.error.message).toBe('Invalid or expired API key');

      const enabled = await app.rest.post(`/api/admin/users/${alice.id}/enable`).set(as(admin)).expect(200);
      expect(enabled.body).toMatchObject({ id: alice.id, is_active: true });
      await app.rest.get('/api/auth/me').set(as(alice)).expect(200);
      await app.rest.post('/api/auth/login').send({ email: alice.email, password: alice.password }).expect(200);
      await rawRpc(app, TOOLS_LIST, aliceKey.api_key).expect(200);
    });

    it('should not let an admin disable themselves, and answer 404 for an unknown user', async () => {
      const self = await app.rest.post(`/api/admin/users/${admin.id}/disable`).set(as(admin)).expect(409);
      expect(self.body).toEqual({ statusCode: 409, detail: 'You cannot disable your own account; ask another administrator' });
      const unknown = await app.rest.post(`/api/admin/users/${randomUUID()}/disable`).set(as(admin)).expect(404);
      expect(unknown.body).toEqual({ statusCode: 404, detail: 'User not found' });
      await app.rest.post(`/api/admin/users/${randomUUID()}/enable`).set(as(admin)).expect(404);
      await app.rest.get(`/api/admin/users/${randomUUID()}/keys`).set(as(admin)).expect(404);
    });
  });

  describe('keys', () => {
    it("should revoke another user's key so that its next MCP call is refused, and show it as the owner sees it", async () => {
      await rawRpc(app, TOOLS_LIST, bobKey.api_key).expect(200);
      const revoked = await app.rest.post(`/api/admin/keys/${bobKey.key_id}/revoke`).set(as(admin)).expect(200);
      expect(revoked.body).toEqual({ success: true, message: 'API key revoked' });
      expect((await rawRpc(app, TOOLS_LIST, bobKey.api_key).expect(401)).body.error.message).toBe('Invalid or expired API key');

      const adminView = (await app.rest.get(`/api/admin/users/${bob.id}/keys`).set(as(admin)).expect(200)).body;
      const ownView = (await app.rest.get('/api/mcp-keys/list').set(as(bob)).expect(200)).body;
      expect(adminView).toEqual(ownView);
      expect(adminView.keys).toEqual([expect.objectContaining({ id: bobKey.key_id, is_active: false })]);
      // Alice's key is untouched.
      await rawRpc(app, TOOLS_LIST, aliceKey.api_key).expect(200);
    });

    it('should answer 404 for an unknown key', async () => {
      expect((await app.rest.post(`/api/admin/keys/${randomUUID()}/revoke`).set(as(admin)).expect(404)).body).toEqual({ statusCode: 404, detail: 'API key not found' });
      expect((await app.rest.put(`/api/admin/keys/${randomUUID()}/policy`).set(as(admin)).send({ calls_per_day: 1 }).expect(404)).body.detail).toBe('API key not found');
    });

    it("should set another user's key policy, applied from its next MCP call, and refuse an invalid one without auditing it", async () => {
      const invalid = await app.rest.put(`/api/admin/keys/${aliceKey.key_id}/policy`).set(as(admin)).send({ tools: ['no_such_tool'] }).expect(400);
      expect(invalid.body.detail).toBe('policy.tools: not served here: "no_such_tool" (GET tools/list for the names)');
      const policy = { tools: ['get_latest_bars'], tables: [], calls_per_minute: null, records_per_day: 5, records_per_month: null, calls_per_day: null };
      const set = await app.rest.put(`/api/admin/keys/${aliceKey.key_id}/policy`).set(as(admin)).send({ tools: ['get_latest_bars'], records_per_day: 5 }).expect(200);
      expect(set.body).toEqual({ success: true, key_id: aliceKey.key_id, policy });
      const listed = (await app.rest.get('/api/mcp-keys/list').set(as(alice)).expect(200)).body.keys;
      expect(listed.find((key: { id: string }) => key.id === aliceKey.key_id).policy).toEqual(policy);
      const tools = (await rawRpc(app, TOOLS_LIST, aliceKey.api_key).expect(200)).body.result.tools as { name: string }[];
      expect(tools.map((tool) => tool.name)).toEqual(['get_latest_bars']);

      // The owner may tighten what an administrator set, never loosen it.
      const own = (policyChange: Record<string, unknown>) => app.rest.post('/api/mcp-keys/policy').set(as(alice)).send({ key_id: aliceKey.key_id, policy: policyChange });
      expect((await own({ records_per_day: 1000 }).expect(403)).body.detail).toBe('policy.records_per_day: an administrator set at most 5 for this key; you may only lower it');
      expect((await own({ records_per_day: null }).expect(403)).body.detail).toBe('policy.records_per_day: an administrator set at most 5 for this key; you may only lower it');
      expect((await own({ tools: null }).expect(403)).body.detail).toBe('policy.tools: an administrator limited this key to get_latest_bars; you may only narrow that');
      expect((await own({ records_per_day: 3, calls_per_day: 10 }).expect(200)).body.policy).toEqual({ ...policy, records_per_day: 3, calls_per_day: 10 });
      expect((await own({ records_per_day: 5 }).expect(200)).body.policy).toEqual({ ...policy, calls_per_day: 10 });

      // The ceiling holds for the keys Alice creates next, also after revoking the limited one.
      const create = (body: Record<string, unknown>) => app.rest.post('/api/mcp-keys/create').set(as(alice)).send(body);
      expect((await create({ key_name: 'looser', policy: { records_per_day: 1000 } }).expect(403)).body.detail).toBe(
        'policy.records_per_day: an administrator set at most 5 for this key; you may only lower it',
      );
      expect((await create({ key_name: 'wider', policy: { tools: ['search_stocks'] } }).expect(403)).body.detail).toBe(
        'policy.tools: an administrator limited this key to get_latest_bars; you may only narrow that',
      );
      const narrower = (await create({ key_name: 'narrower', policy: { records_per_day: 2 } }).expect(200)).body;
      expect(narrower.policy).toEqual({ ...policy, records_per_day: 2 });
      await app.rest.post('/api/mcp-keys/revoke').set(as(alice)).send({ key_id: narrower.key_id }).expect(200);
      const plain = (await create({ key_name: 'plain' }).expect(200)).body;
      expect(plain.policy).toEqual(policy);
      const plainTools = (await rawRpc(app, TOOLS_LIST, plain.api_key).expect(200)).body.result.tools as { name: string }[];
      expect(plainTools.map((tool) => tool.name)).toEqual(['get_latest_bars']);
      await app.rest.post('/api/mcp-keys/revoke').set(as(alice)).send({ key_id: plain.key_id }).expect(200);
      // Another user's new keys are not limited by Alice's ceiling.
      expect((await app.rest.post('/api/mcp-keys/create').set(as(bob)).send({ key_name: 'bob-free' }).expect(200)).body.policy).toEqual({ ...policy, tools: [], records_per_day: null });
    });
  });

  describe('audit log', () => {
    it('should list exactly the changes made, newest first, by whom and on what', async () => {
      const body = (await app.rest.get('/api/admin/audit-log').set(as(admin)).expect(200)).body;
      const by = { admin_user_id: admin.id, admin_email: ADMIN_EMAIL };
      expect(body).toEqual({
        entries: [
          {
            ...by,
            action: 'key.policy',
            target_type: 'key',
            target_id: aliceKey.key_id,
            details: {
              user_id: alice.id,
              previous: { tools: [], tables: [], calls_per_minute: null, records_per_day: null, records_per_month: null, calls_per_day: null },
              policy: { tools: ['get_latest_bars'], tables: [], calls_per_minute: null, records_per_day: 5, records_per_month: null, calls_per_day: null },
            },
            id: expect.any(String),
            created_at: expect.any(String),
          },
          { ...by, action: 'key.revoke', target_type: 'key', target_id: bobKey.key_id, details: { user_id: bob.id, key_name: 'bob-admin', api_key_prefix: bobKey.api_key_prefix, was_active: true }, id: expect.any(String), created_at: expect.any(String) },
          { ...by, action: 'user.enable', target_type: 'user', target_id: alice.id, details: { email: alice.email, was_active: false }, id: expect.any(String), created_at: expect.any(String) },
          { ...by, action: 'user.disable', target_type: 'user', target_id: alice.id, details: { email: alice.email, was_active: true }, id: expect.any(String), created_at: expect.any(String) },
          // The grant that made the administrator, by `npm run admin` on the server.
          { admin_user_id: 'cli', admin_email: '', action: 'user.grant_admin', target_type: 'user', target_id: admin.id, details: { email: ADMIN_EMAIL, was_admin: false }, id: expect.any(String), created_at: expect.any(String) },
        ],
        total: 5,
        page: 1,
        page_size: 50,
      });
      for (const entry of body.entries) expect(Math.abs(Date.parse(entry.created_at) - Date.now())).toBeLessThan(120_000);
      const second = (await app.rest.get('/api/admin/audit-log?page=2&page_size=2').set(as(admin)).expect(200)).body;
      expect(second.entries.map((entry: { action: string }) => entry.action)).toEqual(['user.enable', 'user.disable']);

      const client = rawClient(app.database);
      const stored = await queryRows<{ action: string; details: string }>(client, 'SELECT action, details FROM admin_audit_log ORDER BY created_at, id');
      await client.close();
      expect(stored.map((row) => [row.action, JSON.parse(row.details).was_active])).toEqual([['user.grant_admin', undefined], ['user.disable', true], ['user.enable', false], ['key.revoke', true], ['key.policy', undefined]]);
    });
  });

  describe('hostile input', () => {
    const get = (url: string) => app.rest.get(url).set(as(admin));
    const post = (url: string) => app.rest.post(url).set(as(admin)).send({});

    it.each([
      ['an impossible date', 'start_date=2026-02-30', 'start_date'],
      ['a day before 1970', 'start_date=1969-12-31&end_date=1970-01-05', 'start_date'],
      ['a day after 2105', 'end_date=2106-01-01', 'end_date'],
      ['a date with a time', 'end_date=2026-01-01T00:00:00Z', 'end_date'],
      ['SQL in a date', "start_date=2026-01-01'%20OR%201=1--", 'start_date'],
      ['an end before the start', 'start_date=2026-01-02&end_date=2026-01-01', 'end_date'],
      ['367 days', 'start_date=2024-01-01&end_date=2025-01-01', 'end_date'],
      ['an unknown group', 'group_by=password_hash', 'group_by'],
      ['a repeated group', 'group_by=user&group_by=day', 'group_by'],
      ['an unknown parameter', 'user_id=x', 'user_id'],
    ])('should answer 400 naming the parameter for %s in the summary', async (_case, query, field) => {
      const response = await get(`/api/admin/usage/summary?${query}`).expect(400);
      expect(response.body.errors.map((error: { field: string }) => error.field)).toContain(field);
    });

    it.each([
      ['page 0', 400, '/api/admin/users?page=0'],
      ['a 20-digit page', 400, '/api/admin/users?page=99999999999999999999'],
      ['page 10001', 400, '/api/admin/audit-log?page=10001'],
      ['page_size 101', 400, '/api/admin/audit-log?page_size=101'],
      ['a page that is not a number', 400, '/api/admin/users?page=abc'],
      ['the last page allowed, past the end', 200, '/api/admin/users?page=10000&page_size=100'],
    ])('should answer %s with %d', async (_case, status, url) => {
      await get(url).expect(status);
    });

    it.each([
      ['a quote', 400, 'POST', `/api/admin/users/${encodeURIComponent("x' OR '1'='1")}/disable`],
      ['an encoded slash', 400, 'POST', '/api/admin/users/..%2F..%2Fetc/disable'],
      ['a NUL byte', 400, 'POST', '/api/admin/users/abc%00/enable'],
      ['65 characters', 400, 'GET', `/api/admin/users/${'a'.repeat(65)}/keys`],
      ['10,000 characters', 400, 'POST', `/api/admin/keys/${'k'.repeat(10_000)}/revoke`],
      ['non-ASCII letters', 400, 'POST', `/api/admin/keys/${encodeURIComponent('ключ')}/revoke`],
      ['a broken percent-encoding', 400, 'GET', '/api/admin/users/%E0%A4%A/keys'],
      ['no account behind it', 404, 'GET', `/api/admin/users/${randomUUID()}/keys`],
      ['no key behind it', 404, 'POST', '/api/admin/keys/no-such-key/revoke'],
    ])('should answer an id with %s with %d', async (_case, status, method, url) => {
      await (method === 'GET' ? get(url) : post(url)).expect(status);
    });
  });
});
