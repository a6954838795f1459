import { request as httpRequest } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { pollUntil } from '../scripts/lib/poll.mjs';
import { type AppBehindRelay, type ClickHouseRelay, DAILY_BARS_QUERY, startAppBehindRelay } from './support/clickhouse-relay.js';
import { type CreatedKey, createApiKey, rawRpc } from './support/mcp.js';
import { type SseOpening, SseStream } from './support/sse-stream.js';
import { type LoggedInUser, type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';
import { waitForCount } from './support/usage-log.js';

/** A tool call that reads ods_daily: while the relay holds, it waits for ClickHouse. */
const dailyBars = (id: string | number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'get_daily_bars', arguments: { ts_code: '600519.SH' } } });
const UNKNOWN_SESSION = 'Unknown or closed SSE session; open a new one with GET /sse';

/** Verifies keys now, so that they are cached and checked without ClickHouse while the relay holds. */
async function verifyKeys(app: TestApp, ...keys: CreatedKey[]): Promise<void> {
  for (const key of keys) await rawRpc(app, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, key.api_key).expect(200);
}

/** The official SDK's legacy HTTP+SSE client, sending the key on the stream and on every POST. */
async function connectSseClient(app: TestApp, apiKey: string): Promise<Client> {
  const authorization = `Bearer ${apiKey}`;
  const transport = new SSEClientTransport(new URL(`${app.mcpUrl}/sse`), {
    eventSourceInit: { fetch: (url, init) => fetch(url, { ...init, headers: { ...init?.headers, Authorization: authorization } }) },
    requestInit: { headers: { Authorization: authorization } },
  });
  const client = new Client({ name: 'legacy-sse-client', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

/** The status GET /sse answers a client at `localAddress` (any 127.x address is this machine); the stream is closed at once. */
function openingStatusFrom(app: TestApp, apiKey: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const opening = httpRequest(`${app.mcpUrl}/sse`, { localAddress, headers: { Authorization: `Bearer ${apiKey}` } }, (response) => {
      resolve(response.statusCode ?? 0);
      opening.destroy();
    });
    opening.once('error', reject);
    opening.end();
  });
}

/** The 429 a session past a cap gets: the cap named in its message and data, nothing else. */
function capRefusal(holder: string, limit: number, dataName: string) {
  return {
    jsonrpc: '2.0',
    id: null,
    error: {
      code: -32029,
      message: `${holder} already has ${limit} legacy SSE sessions open, the most it may; close one (end its GET /sse stream), or leave one idle for 300 s, or use streamable HTTP (POST /messages)`,
      data: { [dataName]: limit, idle_seconds: 300 },
    },
  };
}

/** A 429 for a full cap, with its body and a Retry-After of when the holder's first (idle) session would close. */
function expectCapRefused(refused: SseOpening, holder: string, limit: number, dataName: string): void {
  expect([refused.status, refused.body]).toEqual([429, capRefusal(holder, limit, dataName)]);
  // All were opened moments ago and are idle: the soonest closes in about MCP_LEGACY_SSE_IDLE_SECONDS.
  const retryAfter = Number(refused.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(290);
  expect(retryAfter).toBeLessThanOrEqual(300);
}

/** Closing one of `streams` frees its slot: `apiKey` then opens a session (kept in `streams` to close later). */
async function expectSlotFreedByClosingOne(app: TestApp, streams: SseStream[], apiKey: string): Promise<void> {
  await streams.pop()?.close();
  const reopened = await pollUntil(() => SseStream.open(app, apiKey), (opening) => opening.status === 200, { timeoutMs: 5_000, intervalMs: 50 });
  expect(reopened.status).toBe(200);
  if (reopened.stream) streams.push(reopened.stream);
}

describe('Legacy HTTP+SSE transport (GET /sse, POST /messages?sessionId=) (e2e)', () => {
  let app: TestApp;
  let user: LoggedInUser;
  let relay: ClickHouseRelay;
  let behind: AppBehindRelay;

  beforeAll(async () => {
    ({ app, relay } = behind = await startAppBehindRelay({ DEMO_DATA: 'true', USAGE_FLUSH_INTERVAL_MS: '50' }));
    user = await registerAndLogin(app);
  });

  afterAll(() => behind.stop());

  it('should serve the SDK SSE client: tools listed, a tool called and its usage recorded', async () => {
    const key = await createApiKey(app, user.jwt, { key_name: 'legacy' });
    const client = await connectSseClient(app, key.api_key);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain('get_latest_bars');
      const result = await client.callTool({ name: 'get_latest_bars', arguments: { ts_codes: ['600519.SH', '000001.SZ'] } });
      expect(result.structuredContent).toMatchObject({ table: 'ods_daily', row_count: 2 });
      expect(result._meta).toMatchObject({ usage: { record_count: 2 } });
    } finally {
      await client.close();
    }
    expect(await waitForCount(app, key.key_id, 1)).toBe(1);
  });

  it('should refuse a stream without a valid key, and another key or a revoked one on its messages', async () => {
    expect((await app.mcp.get('/sse')).status).toBe(401);
    expect((await app.mcp.get('/sse').set('Authorization', `Bearer sk-${'0'.repeat(64)}`)).status).toBe(401);
    expect((await app.mcp.post('/sse').set('Content-Type', 'application/json').send('{}')).status).toBe(405);

    const key = await createApiKey(app, user.jwt, { key_name: 'legacy-revoked' });
    const other = await createApiKey(app, (await registerAndLogin(app)).jwt, { key_name: 'someone-else' });
    const client = await connectSseClient(app, key.api_key);
    try {
      await client.listTools();
      // The session id the stream announced, as the client posts to it.
      const endpoint = (client.transport as unknown as { _endpoint: URL })._endpoint;
      const post = (apiKey: string) => app.mcp.post(`${endpoint.pathname}${endpoint.search}`).set('Content-Type', 'application/json').set('Authorization', `Bearer ${apiKey}`).send({ jsonrpc: '2.0', id: 9, method: 'tools/list' });
      const foreign = await post(other.api_key);
      expect(foreign.status).toBe(403);
      expect(foreign.body.error.message).toBe('This SSE session belongs to another API key');

      await app.rest.post('/api/mcp-keys/revoke').set('Authorization', `Bearer ${user.jwt}`).send({ key_id: key.key_id }).expect(200);
      const revoked = await post(key.api_key);
      expect(revoked.status).toBe(401);
      expect(revoked.body.error.message).toBe('Invalid or expired API key');
    } finally {
      await client.close();
    }
    const unknown = await app.mcp.post('/messages?sessionId=no-such-session').set('Content-Type', 'application/json').set('Authorization', `Bearer ${other.api_key}`).send({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toBe('Unknown or closed SSE session; open a new one with GET /sse');
    // Stateless streamable HTTP is untouched.
    await rawRpc(app, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, other.api_key).expect(200);
  });

  it("should take a session's messages only with its own key, whatever they are, and send nothing else down its stream", async () => {
    const victim = await registerAndLogin(app);
    const victimKey = await createApiKey(app, victim.jwt, { key_name: 'victim' });
    const victimsOtherKey = await createApiKey(app, victim.jwt, { key_name: 'victim-second' });
    const stranger = await createApiKey(app, (await registerAndLogin(app)).jwt, { key_name: 'stranger' });
    await verifyKeys(app, victimKey, victimsOtherKey, stranger);
    const stream = await SseStream.opened(app, victimKey.api_key);
    try {
      // The victim's call waits for ClickHouse, so a cancellation would still find it running.
      relay.hold(DAILY_BARS_QUERY);
      expect((await stream.post(dailyBars('victim-call'), victimKey.api_key)).status).toBe(202);
      await relay.waitForHeld(DAILY_BARS_QUERY, 1);
      const injected = [
        { jsonrpc: '2.0', id: 'injected', method: 'initialize', params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'intruder', version: '1' } } },
        { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'victim-call', reason: 'injected' } },
        { jsonrpc: '2.0', id: 'victim-call', result: {} },
      ];
      for (const message of injected) {
        const id = 'method' in message && 'id' in message ? message.id : null;
        const anonymous = await stream.post(message);
        expect([anonymous.status, anonymous.body]).toEqual([401, { jsonrpc: '2.0', id, error: { code: -32001, message: 'API key required' } }]);
        expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer realm="mcp"/);
        for (const key of [stranger, victimsOtherKey]) {
          const foreign = await stream.post(message, key.api_key);
          expect([foreign.status, foreign.body]).toEqual([403, { jsonrpc: '2.0', id, error: { code: -32003, message: 'This SSE session belongs to another API key' } }]);
        }
      }
      // Read for a while: an injected initialize would have been answered at once.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(stream.messages).toEqual([]);

      relay.release();
      const answer = await stream.answerTo('victim-call');
      expect(answer.result).toMatchObject({ structuredContent: { table: 'ods_daily' } });
      expect((await stream.post({ jsonrpc: '2.0', id: 'ping', method: 'ping' }, victimKey.api_key)).status).toBe(202);
      expect(await stream.answerTo('ping')).toEqual({ jsonrpc: '2.0', id: 'ping', result: {} });
      expect(stream.messages.map((message) => message.id)).toEqual(['victim-call', 'ping']);
    } finally {
      relay.release();
      await stream.close();
    }
  });

  it('should answer a post to an unknown session 401 without a key, 404 with one', async () => {
    const key = await createApiKey(app, user.jwt, { key_name: 'unknown-session' });
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'c', version: '1' } } };
    const post = (apiKey?: string) => {
      const request = app.mcp.post('/messages?sessionId=00000000-0000-4000-8000-000000000000').set('Content-Type', 'application/json');
      return (apiKey ? request.set('Authorization', `Bearer ${apiKey}`) : request).send(initialize);
    };
    const anonymous = await post();
    expect([anonymous.status, anonymous.body.error.message]).toEqual([401, 'API key required']);
    const known = await post(key.api_key);
    expect([known.status, known.body]).toEqual([404, { jsonrpc: '2.0', id: 1, error: { code: -32000, message: UNKNOWN_SESSION } }]);
  });

  it('should answer a body that is not one JSON-RPC message 400 with a JSON-RPC error, and keep the session serving', async () => {
    const key = await createApiKey(app, user.jwt, { key_name: 'bad-bodies' });
    const stream = await SseStream.opened(app, key.api_key);
    try {
      const notAMessage = 'Invalid Request: the body is not a JSON-RPC 2.0 message (a request, notification or response object with "jsonrpc": "2.0")';
      const batch =
        'Invalid Request: a legacy SSE session takes one JSON-RPC message per POST, not a batch (an array); post each message on its own, or use streamable HTTP (POST /messages without sessionId), which takes batches';
      const cases: [unknown, string][] = [
        [null, notAMessage],
        [{}, notAMessage],
        ['x', notAMessage],
        [0, notAMessage],
        [{ jsonrpc: '1.0', id: 1, method: 'ping' }, notAMessage],
        [[], batch],
        [[{ jsonrpc: '2.0', id: 'in-batch', method: 'ping' }], batch],
      ];
      for (const [body, message] of cases) {
        const answer = await stream.post(body, key.api_key);
        expect([JSON.stringify(body), answer.status, answer.headers['content-type'], answer.body]).toEqual([
          JSON.stringify(body),
          400,
          'application/json; charset=utf-8',
          { jsonrpc: '2.0', id: null, error: { code: -32600, message } },
        ]);
      }
      expect((await stream.post({ jsonrpc: '2.0', id: 'after', method: 'ping' }, key.api_key)).status).toBe(202);
      expect(await stream.answerTo('after')).toEqual({ jsonrpc: '2.0', id: 'after', result: {} });
      expect(stream.messages.map((message) => message.id)).toEqual(['after']);
    } finally {
      await stream.close();
    }
  });

  it('should hold MCP_LEGACY_SSE_SESSIONS_PER_USER (10) sessions of one user over all their keys, refuse the next with 429, and still open one for another user', async () => {
    const owner = await registerAndLogin(app);
    const keys = [await createApiKey(app, owner.jwt, { key_name: 'sse-a' }), await createApiKey(app, owner.jwt, { key_name: 'sse-b' })];
    const otherUser = await createApiKey(app, (await registerAndLogin(app)).jwt, { key_name: 'sse-other' });
    const streams = await Promise.all(Array.from({ length: 10 }, (_, i) => SseStream.opened(app, keys[i % 2].api_key)));
    try {
      expectCapRefused(await SseStream.open(app, keys[0].api_key), 'This account', 10, 'sessions_per_user');

      await (await SseStream.opened(app, otherUser.api_key)).close();

      await expectSlotFreedByClosingOne(app, streams, keys[1].api_key);
    } finally {
      await Promise.all(streams.map((stream) => stream.close()));
    }
  });
});

describe('Legacy HTTP+SSE: sessions of one client address (e2e)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ MCP_LEGACY_SSE_SESSIONS_PER_ADDRESS: '3', MCP_LEGACY_SSE_SESSIONS_PER_USER: '5' });
  });

  afterAll(() => app.stop());

  it('should hold MCP_LEGACY_SSE_SESSIONS_PER_ADDRESS (3) sessions of one address over all its accounts, refuse the next with 429, open one from another address, and free a slot when one closes', async () => {
    const keys: CreatedKey[] = [];
    for (let i = 0; i < 4; i++) keys.push(await createApiKey(app, (await registerAndLogin(app)).jwt, { key_name: `address-${i}` }));
    const streams = await Promise.all(keys.slice(0, 3).map((key) => SseStream.opened(app, key.api_key)));
    try {
      expectCapRefused(await SseStream.open(app, keys[3].api_key), 'This client address', 3, 'sessions_per_address');

      expect(await openingStatusFrom(app, keys[3].api_key, '127.0.0.2')).toBe(200);

      await expectSlotFreedByClosingOne(app, streams, keys[3].api_key);
    } finally {
      await Promise.all(streams.map((stream) => stream.close()));
    }
  });
});

describe('Legacy HTTP+SSE: idle sessions are closed (e2e)', () => {
  let app: TestApp;
  let user: LoggedInUser;
  let relay: ClickHouseRelay;
  let behind: AppBehindRelay;

  beforeAll(async () => {
    // No demo data: the held call only has to wait for its query of ods_daily, and finds no rows.
    ({ app, relay } = behind = await startAppBehindRelay({ MCP_LEGACY_SSE_IDLE_SECONDS: '1', MCP_LEGACY_SSE_SESSIONS_PER_USER: '2' }));
    user = await registerAndLogin(app);
  });

  afterAll(() => behind.stop());

  it('should close a session idle for MCP_LEGACY_SSE_IDLE_SECONDS, free its slot, and answer its posts 404', async () => {
    const key = await createApiKey(app, (await registerAndLogin(app)).jwt);
    const before = Date.now();
    const streams = [await SseStream.opened(app, key.api_key), await SseStream.opened(app, key.api_key)];
    const refused = await SseStream.open(app, key.api_key);
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '1']);

    await Promise.all(streams.map((stream) => stream.ended));
    expect(Date.now() - before).toBeGreaterThanOrEqual(1000);
    const late = await streams[0].post({ jsonrpc: '2.0', id: 1, method: 'ping' }, key.api_key);
    expect([late.status, late.body.error.message]).toEqual([404, UNKNOWN_SESSION]);
    const reopened = [await SseStream.opened(app, key.api_key), await SseStream.opened(app, key.api_key)];
    await Promise.all(reopened.map((stream) => stream.close()));
  });

  it('should keep a session open while its call is under way, and close it once the call was answered and it sat idle', async () => {
    const key = await createApiKey(app, user.jwt);
    await verifyKeys(app, key);
    const busy = await SseStream.opened(app, key.api_key);
    try {
      relay.hold(DAILY_BARS_QUERY);
      expect((await busy.post(dailyBars('slow'), key.api_key)).status).toBe(202);
      await relay.waitForHeld(DAILY_BARS_QUERY, 1);
      // Opened after the call was posted, so without a call of its own it would close after the busy one would.
      const idle = await SseStream.opened(app, key.api_key);
      await idle.ended;
      expect(busy.isOpen).toBe(true);

      relay.release();
      expect((await busy.answerTo('slow')).result).toMatchObject({ structuredContent: { table: 'ods_daily' } });
      await busy.ended;
    } finally {
      relay.release();
      await busy.close();
    }
  });
});
