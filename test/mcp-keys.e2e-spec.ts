import { createHash } from 'node:crypto';
import { queryRows, rawClient } from './support/clickhouse.js';
import { createApiKey, rawRpc } from './support/mcp.js';
import { type LoggedInUser, type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';

const TOOLS_LIST = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };

describe('MCP keys API (e2e)', () => {
  let app: TestApp;
  let alice: LoggedInUser;
  let bob: LoggedInUser;

  beforeAll(async () => {
    app = await startTestApp({ MCP_MAX_KEYS_PER_USER: '3' });
    alice = await registerAndLogin(app, 'alice@example.com');
    bob = await registerAndLogin(app, 'bob@example.com');
  });

  afterAll(async () => {
    await app.stop();
  });

  const auth = (user: LoggedInUser) => ({ Authorization: `Bearer ${user.jwt}` });

  it('should create a key, show it in full once and store only its hash', async () => {
    const before = Date.now();
    const response = await app.rest.post('/api/mcp-keys/create').set(auth(alice)).send({ key_name: 'my-cursor-key', expires_days: 90 }).expect(200);
    const body = response.body;
    expect(body).toEqual({
      success: true,
      message: 'API key created. Save it now: it will not be shown again.',
      api_key: expect.stringMatching(/^sk-[0-9a-f]{64}$/),
      key_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      key_name: 'my-cursor-key',
      api_key_prefix: `${body.api_key.slice(0, 12)}...`,
      created_at: expect.stringMatching(/Z$/),
      expires_at: expect.stringMatching(/Z$/),
      policy: { tools: [], tables: [], calls_per_minute: null, records_per_day: null, records_per_month: null, calls_per_day: null },
    });
    const lifetimeDays = (Date.parse(body.expires_at) - Date.parse(body.created_at)) / 86_400_000;
    expect(lifetimeDays).toBe(90);
    expect(Date.parse(body.created_at)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);

    const client = rawClient(app.database);
    const stored = await queryRows<Record<string, string>>(client, 'SELECT * FROM mcp_api_keys FINAL');
    await client.close();
    expect(JSON.stringify(stored)).not.toContain(body.api_key);
    expect(stored).toHaveLength(1);
    // The original service's column set, so it finds and lists the key too.
    expect(stored[0]).toEqual({
      id: body.key_id,
      user_id: alice.id,
      key_name: 'my-cursor-key',
      api_key_hash: createHash('sha256').update(body.api_key).digest('hex'),
      api_key_prefix: body.api_key_prefix,
      is_active: 1,
      last_used_at: null,
      expires_at: body.expires_at.replace('T', ' ').replace('Z', ''),
      created_at: body.created_at.replace('T', ' ').replace('Z', ''),
      updated_at: body.created_at.replace('T', ' ').replace('Z', ''),
    });
    expect(app.output()).not.toContain(body.api_key);
  });

  it('should default the name to "default" and never expire without expires_days', async () => {
    const key = await createApiKey(app, bob.jwt);
    expect(key.expires_at).toBeNull();
    const list = await app.rest.get('/api/mcp-keys/list').set(auth(bob)).expect(200);
    expect(list.body.keys[0]).toMatchObject({ key_name: 'default', expires_at: null, is_active: true });
  });

  it('should list only the caller’s keys, newest first, without the key or its hash', async () => {
    // Keys made within one second are ordered by their ids, which are UUIDv7: no wait is needed.
    await createApiKey(app, alice.jwt, { key_name: 'second', expires_days: null });
    const response = await app.rest.get('/api/mcp-keys/list').set(auth(alice)).expect(200);
    expect(response.body.total).toBe(2);
    expect(response.body.keys.map((k: { key_name: string }) => k.key_name)).toEqual(['second', 'my-cursor-key']);
    expect(Object.keys(response.body.keys[0]).sort()).toEqual(['api_key_prefix', 'created_at', 'expires_at', 'id', 'is_active', 'is_expired', 'key_name', 'last_used_at', 'policy']);
    expect(JSON.stringify(response.body)).not.toMatch(/sk-[0-9a-f]{64}|key_hash|[0-9a-f]{64}/);
  });

  it.each([
    ['expires_days 0', { expires_days: 0 }, 'expires_days must not be less than 1'],
    ['expires_days 366', { expires_days: 366 }, 'expires_days must not be greater than 365'],
    ['fractional expires_days', { expires_days: 1.5 }, 'expires_days must be a whole number of days'],
    ['a 101-character name', { key_name: 'k'.repeat(101) }, 'key_name must be 1 to 100 characters long'],
    ['an unknown field', { key_name: 'x', scope: 'admin' }, 'property scope should not exist'],
  ])('should answer 400 for %s', async (_name, body, message) => {
    const response = await app.rest.post('/api/mcp-keys/create').set(auth(alice)).send(body).expect(400);
    expect(response.body.detail).toContain(message);
  });

  it('should refuse key management without a valid JWT', async () => {
    await app.rest.post('/api/mcp-keys/create').send({}).expect(401);
    await app.rest.get('/api/mcp-keys/list').set('Authorization', 'Bearer not-a-jwt').expect(401);
  });

  it('should answer 409 once the cap on active keys is reached, and accept again after a revoke', async () => {
    const third = await createApiKey(app, alice.jwt, { key_name: 'third' });
    const refused = await app.rest.post('/api/mcp-keys/create').set(auth(alice)).send({ key_name: 'fourth' }).expect(409);
    expect(refused.body).toEqual({ statusCode: 409, detail: 'You already have 3 active API keys; revoke one before creating another' });
    await app.rest.post('/api/mcp-keys/revoke').set(auth(alice)).send({ key_id: third.key_id }).expect(200);
    await createApiKey(app, alice.jwt, { key_name: 'fourth' });
  });

  it('should answer 404 when revoking a key that is not the caller’s, and leave it working', async () => {
    const bobs = await createApiKey(app, bob.jwt, { key_name: 'bobs' });
    const response = await app.rest.post('/api/mcp-keys/revoke').set(auth(alice)).send({ key_id: bobs.key_id }).expect(404);
    expect(response.body).toEqual({ statusCode: 404, detail: 'API key not found' });
    await app.rest.post('/api/mcp-keys/revoke').set(auth(alice)).send({ key_id: 'no-such-key' }).expect(404);
    await rawRpc(app, TOOLS_LIST, bobs.api_key).expect(200);
  });

  it('should refuse a revoked key on the very next call, and revoking twice is harmless', async () => {
    const key = await createApiKey(app, bob.jwt, { key_name: 'short-lived' });
    await rawRpc(app, TOOLS_LIST, key.api_key).expect(200);
    const revoked = await app.rest.post('/api/mcp-keys/revoke').set(auth(bob)).send({ key_id: key.key_id }).expect(200);
    expect(revoked.body).toEqual({ success: true, message: 'API key revoked' });
    const refused = await rawRpc(app, TOOLS_LIST, key.api_key).expect(401);
    expect(refused.body).toEqual({ jsonrpc: '2.0', id: 1, error: { code: -32001, message: 'Invalid or expired API key' } });
    await app.rest.post('/api/mcp-keys/revoke').set(auth(bob)).send({ key_id: key.key_id }).expect(200);
    const list = await app.rest.get('/api/mcp-keys/list').set(auth(bob)).expect(200);
    expect(list.body.keys.find((k: { id: string }) => k.id === key.key_id)).toMatchObject({ is_active: false });
  });

  it('should keep last_used_at current after a call', async () => {
    const key = await createApiKey(app, bob.jwt, { key_name: 'tracked' });
    await rawRpc(app, TOOLS_LIST, key.api_key).expect(200);
    let summary: { last_used_at: string | null } | undefined;
    for (let attempt = 0; attempt < 50 && !summary?.last_used_at; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const list = await app.rest.get('/api/mcp-keys/list').set(auth(bob)).expect(200);
      summary = list.body.keys.find((k: { id: string }) => k.id === key.key_id);
    }
    expect(Math.abs(Date.parse(summary!.last_used_at!) - Date.now())).toBeLessThan(10_000);
  });
});

describe('MCP key expiry (e2e)', () => {
  it('should refuse an expired key with 401', async () => {
    const env = { DEMO_DATA: 'false', JWT_SECRET: 'e2e-expiry-secret-that-is-long-enough-0123' };
    const app = await startTestApp(env);
    try {
      const user = await registerAndLogin(app);
      const key = await createApiKey(app, user.jwt, { expires_days: 1 });
      await rawRpc(app, TOOLS_LIST, key.api_key).expect(200);
      // Age the key in ClickHouse as time would, then restart so no cache remembers it.
      const client = rawClient(app.database);
      await client.command({
        query: `INSERT INTO mcp_api_keys (id, user_id, key_name, api_key_hash, api_key_prefix, is_active, expires_at, created_at, updated_at)
          SELECT id, user_id, key_name, api_key_hash, api_key_prefix, is_active, toNullable(now() - 1), created_at, updated_at + 1 FROM mcp_api_keys FINAL`,
      });
      await client.close();
      await app.signal('SIGTERM');
      const restarted = await startTestApp({ ...env, CLICKHOUSE_DATABASE: app.database });
      try {
        const refused = await rawRpc(restarted, TOOLS_LIST, key.api_key).expect(401);
        expect(refused.body.error.message).toBe('Invalid or expired API key');
        const list = await restarted.rest.get('/api/mcp-keys/list').set('Authorization', `Bearer ${user.jwt}`).expect(200);
        expect(list.body.keys[0]).toMatchObject({ id: key.key_id, is_active: true, is_expired: true });
      } finally {
        await restarted.stop();
      }
    } finally {
      await app.stop();
    }
  });
});
