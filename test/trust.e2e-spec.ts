import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { dropDatabase, queryRows, rawClient, uniqueDatabaseName } from './support/clickhouse.js';
import { type AppBehindRelay, type ClickHouseRelay, DAILY_BARS_QUERY, startAppBehindRelay } from './support/clickhouse-relay.js';
import { connectSdkClient, createApiKey, rawRpc } from './support/mcp.js';
import { SseStream } from './support/sse-stream.js';
import { type LoggedInUser, type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';
import { waitForCount } from './support/usage-log.js';

const TOOLS_LIST = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
const callTool = (name: string, args: unknown, id: number | string = 2) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

/** Sends raw bytes (headers Node's client would refuse to send) and resolves with the status line and body. */
function rawHttp(port: number, request: Buffer | string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    socket.end(request);
  });
}

function jsonPost(path: string, contentType: Buffer, body: string): Buffer {
  return Buffer.concat([
    Buffer.from(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: `),
    contentType,
    Buffer.from(`\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`),
  ]);
}

const portOf = (url: string) => Number(new URL(url).port);

function residentMiB(pid: number): number {
  const kib = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kib / 1024;
}

async function usageRows(app: TestApp): Promise<number> {
  const client = rawClient(app.database);
  try {
    const [row] = await queryRows<{ n: string }>(client, 'SELECT count() AS n FROM mcp_tool_usage_log');
    return Number(row.n);
  } finally {
    await client.close();
  }
}

/** The database of this file's gateways that read market data: the demo market is seeded once (seconds a start). */
const marketDatabase = uniqueDatabaseName('trust_market');
const withMarket = { DEMO_DATA: 'true', CLICKHOUSE_DATABASE: marketDatabase };
afterAll(() => dropDatabase(marketDatabase));

describe('Trust: the MCP port has one door (e2e)', () => {
  let app: TestApp;
  let apiKey: string;

  beforeAll(async () => {
    app = await startTestApp();
    const user = await registerAndLogin(app);
    apiKey = (await createApiKey(app, user.jwt)).api_key;
  });

  afterAll(async () => {
    await app.stop();
  });

  it.each([
    ['a no-break space before application/json', Buffer.from([0xa0, ...Buffer.from('application/json')])],
    ['a no-break space after application/json', Buffer.from([...Buffer.from('application/json'), 0xa0])],
    ['the UTF-8 bytes of a no-break space', Buffer.from('\u00a0application/json', 'utf8')],
    ['text/plain with a JSON parameter', Buffer.from('text/plain; a=application/json')],
    ['a latin-1 charset', Buffer.from('application/json; charset=latin1')],
  ])('should never serve tools/list without a key behind %s', async (_name, contentType) => {
    const response = await rawHttp(portOf(app.mcpUrl), jsonPost('/messages', contentType, JSON.stringify(TOOLS_LIST)));
    expect([401, 415]).toContain(response.status);
    expect(response.body).not.toContain('"tools"');
  });

  it('should let the key guard judge a batch of tool calls sent with an odd content type, and run none of them', async () => {
    const batch = Array.from({ length: 100 }, (_, i) => callTool('search_stocks', { query: '6' }, i + 1));
    const before = await usageRows(app);
    const response = await rawHttp(portOf(app.mcpUrl), jsonPost('/messages', Buffer.from([0xa0, ...Buffer.from('application/json')]), JSON.stringify(batch)));
    // The SDK's parser reads this type as JSON, so the door does too, and the guard sees the batch.
    expect(response.status).toBe(401);
    expect(JSON.parse(response.body)).toEqual({ jsonrpc: '2.0', id: 1, error: { code: -32001, message: 'API key required' } });
    expect(await usageRows(app)).toBe(before);
  });

  it('should judge /messages with a query string like /messages, and /messages/ as another path', async () => {
    const withQuery = await app.mcp.post('/messages?x=1').set('Content-Type', 'application/json').send(JSON.stringify(TOOLS_LIST)).expect(401);
    expect(withQuery.body.error).toEqual({ code: -32001, message: 'API key required' });
    const trailing = await app.mcp.post('/messages/').set('Content-Type', 'application/json').send(JSON.stringify(TOOLS_LIST)).expect(404);
    expect(trailing.body.error.code).toBe(-32000);
    await app.mcp.post('/messages?x=1').set('Content-Type', 'application/json').set('Authorization', `Bearer ${apiKey}`).send(JSON.stringify(TOOLS_LIST)).expect(200);
  });

  it('should answer other media types with 415 and other methods with 405, on every path spelling', async () => {
    const plain = await app.mcp.post('/messages').set('Content-Type', 'text/plain').send(JSON.stringify(TOOLS_LIST)).expect(415);
    expect(plain.body).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Unsupported Media Type: Content-Type must be application/json (UTF-8)' } });
    await app.mcp.post('/messages').send(JSON.stringify(TOOLS_LIST)).expect(415);
    await app.mcp.put('/messages?x=1').set('Content-Type', 'application/json').send('{}').expect(405).expect('Allow', 'POST');
    await app.mcp.options('/messages').expect(405);
  });

  it('should send nosniff and no X-Powered-By on the MCP port', async () => {
    const response = await rawRpc(app, TOOLS_LIST, apiKey).expect(200);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('should echo at most a few dozen characters of an unknown tool name', async () => {
    const name = 'x'.repeat(10_000);
    const response = await rawRpc(app, callTool(name, {}), apiKey).expect(200);
    expect(response.body.error.code).toBe(-32602);
    expect(response.body.error.message).toBe(`Unknown tool: "${'x'.repeat(80)}…"`);
  });

  it('should refuse a batch whose requests share an id, and run none of it', async () => {
    const before = await usageRows(app);
    const response = await rawRpc(app, [callTool('search_stocks', { query: '6' }, 7), callTool('search_stocks', { query: '0' }, 7)], apiKey).expect(400);
    expect(response.body).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: the id 7 is used by more than one request of the batch' } });
    expect(await usageRows(app)).toBe(before);
  });

  it('should give the SDK client the unknown-tool error with one "MCP error" prefix', async () => {
    const client = await connectSdkClient(app, apiKey);
    await expect(client.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toThrow(/^MCP error -32602: Unknown tool: "no_such_tool"$/);
    await client.close();
  });
});

describe('Trust: no request can crash the service (e2e)', () => {
  let app: TestApp;
  let user: LoggedInUser;
  let apiKey: string;

  beforeAll(async () => {
    app = await startTestApp({ HEALTH_DETAILS: 'false' });
    user = await registerAndLogin(app);
    apiKey = (await createApiKey(app, user.jwt)).api_key;
  });

  afterAll(async () => {
    await app.stop();
  });

  const history = (query: string) => app.rest.get(`/api/mcp-usage/history?${query}`).set('Authorization', `Bearer ${user.jwt}`);

  it.each([
    ['end_date=9999-12-31', 'end_date'],
    ['start_date=1900-01-01', 'start_date'],
    ['start_date=1969-12-31', 'start_date'],
    ['end_date=2106-01-01', 'end_date'],
  ])('should answer history?%s with 400 naming the parameter, and stay up', async (query, field) => {
    const response = await history(query).expect(400);
    expect(response.body.errors).toEqual([{ field, messages: [`${field} must be a date written YYYY-MM-DD, from 1970-01-01 to 2105-12-31`] }]);
    await app.rest.get('/health').expect(200);
    expect(app.process.exitCode).toBeNull();
  });

  it('should accept the last day the database can hold', async () => {
    const response = await history('start_date=1970-01-01&end_date=2105-12-31').expect(200);
    expect(response.body).toMatchObject({ total: 0, records: [] });
  });

  it.each([
    ['register email', () => app.rest.post('/api/auth/register').send(JSON.parse('{"email":"a\\ud800@example.com","password":"long enough"}')), 'email'],
    ['login email', () => app.rest.post('/api/auth/login').send(JSON.parse('{"email":"\\ud800","password":"long enough"}')), 'email'],
    ['key_name', () => app.rest.post('/api/mcp-keys/create').set('Authorization', `Bearer ${user.jwt}`).send(JSON.parse('{"key_name":"k\\udfff"}')), 'key_name'],
    ['key_id', () => app.rest.post('/api/mcp-keys/revoke').set('Authorization', `Bearer ${user.jwt}`).send(JSON.parse('{"key_id":"\\ud800\\ud800"}')), 'key_id'],
  ])('should answer a lone surrogate in the %s with 400 naming the field', async (_name, send, field) => {
    const response = await send();
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([{ field, messages: [`${field} is not valid Unicode text (it contains a lone surrogate)`] }]);
  });

  it('should answer a lone surrogate in a tool argument with a tool error naming the argument', async () => {
    const response = await app.mcp
      .post('/messages')
      .set('Content-Type', 'application/json')
      .set('Authorization', `Bearer ${apiKey}`)
      .send('{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"search_stocks","arguments":{"query":"\\ud800"}}}')
      .expect(200);
    expect(response.body.result.isError).toBe(true);
    expect(response.body.result.content[0].text).toBe('Invalid arguments for search_stocks: query is not valid Unicode text (it contains a lone surrogate)');
  });

  it('should say only up or down on an unauthenticated /health by default', async () => {
    const response = await app.rest.get('/health').expect(200);
    expect(response.body).toEqual({ status: 'ok' });
  });

  it('should send security headers and no X-Powered-By on REST, the docs page included', async () => {
    for (const path of ['/health', '/docs', '/api/auth/me']) {
      const response = await app.rest.get(path);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(response.headers['x-powered-by']).toBeUndefined();
    }
  });

  it('should name the table and column when the schema does not match, and never say try again', async () => {
    const client = rawClient(app.database);
    await client.command({ query: 'ALTER TABLE ods_stock_basic DROP COLUMN area' });
    await client.close();
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await rawRpc(app, callTool('search_stocks', { query: '000001' }), apiKey).expect(200);
      expect(response.body.result.isError).toBe(true);
      const text = response.body.result.content[0].text as string;
      expect(text).toContain('search_stocks cannot read ods_stock_basic');
      expect(text).toContain('area');
      expect(text).not.toMatch(/try again/i);
    }
    const logged = await app.waitForOutput(/search_stocks cannot read ods_stock_basic/);
    expect(logged).toHaveLength(1);
  });

  it('should never have logged an unhandled rejection', () => {
    expect(app.output()).not.toContain('unhandled promise rejection');
  });
});

describe('Trust: throttles for strangers and guessers (e2e)', () => {
  let app: TestApp;
  let user: LoggedInUser;
  let apiKey: string;

  beforeAll(async () => {
    app = await startTestApp({
      TRUST_PROXY: 'loopback',
      MCP_AUTH_FAILURE_LIMIT: '5',
      MCP_THROTTLED_HOLD_MS: '300',
      AUTH_RATE_LIMIT: '1000',
      AUTH_ACCOUNT_FAILURE_LIMIT: '3',
      AUTH_ACCOUNT_LOCK_SECONDS: '600',
      USAGE_QUERIES_PER_USER: '1',
    });
    user = await registerAndLogin(app);
    apiKey = (await createApiKey(app, user.jwt)).api_key;
  });

  afterAll(async () => {
    await app.stop();
  });

  const randomKey = () => `sk-${[...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
  const fromAddress = (address: string, key: string) => rawRpc(app, TOOLS_LIST, key).set('X-Forwarded-For', address);

  it('should answer 429 with Retry-After to an address past its failed-key budget, and serve valid keys all the same', async () => {
    for (let i = 0; i < 5; i++) await fromAddress('203.0.113.7', randomKey()).expect(401);
    // Refused from the headers alone (the body is not even read), after MCP_THROTTLED_HOLD_MS, and the connection is closed.
    const started = Date.now();
    const refused = await fromAddress('203.0.113.7', randomKey()).expect(429).expect('Connection', 'close');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(50);
    expect(refused.body).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32029, message: expect.stringMatching(/^Too many invalid API keys from this address; retry in \d+ s$/) } });
    const logged = await app.waitForOutput(/too many invalid API keys: throttling this address/);
    expect(logged).toHaveLength(1);
    // A key already known to be valid costs nothing to check: it still works from that address.
    await rawRpc(app, TOOLS_LIST, apiKey).expect(200);
    await fromAddress('203.0.113.7', apiKey).expect(200);
    // Other addresses are untouched.
    await fromAddress('198.51.100.1', randomKey()).expect(401);
  });

  it('should lock an account after failures from many addresses, except for an address it logged in from', async () => {
    const email = `locked-${Date.now()}@example.com`;
    const password = 'the right password';
    await app.rest.post('/api/auth/register').send({ email, password }).expect(201);
    await app.rest.post('/api/auth/login').set('X-Forwarded-For', '192.0.2.1').send({ email, password }).expect(200);
    for (let i = 0; i < 3; i++) await app.rest.post('/api/auth/login').set('X-Forwarded-For', `192.0.2.${10 + i}`).send({ email, password: 'wrong guess' }).expect(401);

    const locked = await app.rest.post('/api/auth/login').set('X-Forwarded-For', '192.0.2.99').send({ email, password }).expect(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(500);
    expect(locked.body.detail).toMatch(/^Too many failed logins for this account; try again in \d+ s$/);
    await app.rest.post('/api/auth/login').set('X-Forwarded-For', '192.0.2.1').send({ email, password }).expect(200);
  });

  it('should evaluate no more parallel guesses at one account than its failure limit', async () => {
    const email = `guessed-${Date.now()}@example.com`;
    await app.rest.post('/api/auth/register').send({ email, password: 'the right password' }).expect(201);
    const guesses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => app.rest.post('/api/auth/login').set('X-Forwarded-For', `192.0.2.${100 + i}`).send({ email, password: `guess ${i}` })),
    );
    const statuses = guesses.map((response) => response.status).sort();
    expect(statuses).toEqual([401, 401, 401, ...Array<number>(9).fill(429)]);
  });

  it('should let one user run one usage query at a time and refuse the rest with 429', async () => {
    const responses = await Promise.all(Array.from({ length: 8 }, () => app.rest.get('/api/mcp-usage/stats?days=365').set('Authorization', `Bearer ${user.jwt}`)));
    const statuses = responses.map((response) => response.status);
    expect(statuses).toContain(200);
    expect(statuses).toContain(429);
    expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
    expect(responses.find((response) => response.status === 429)!.headers['retry-after']).toBe('1');
  });

  it('should refuse history pages past the offset bound with 400 suggesting date filters', async () => {
    const response = await app.rest.get('/api/mcp-usage/history?page=501&page_size=20').set('Authorization', `Bearer ${user.jwt}`).expect(400);
    expect(response.body.detail).toBe('page × page_size must not exceed 10000; narrow the range with start_date and end_date to reach older calls');
    await app.rest.get('/api/mcp-usage/history?page=500&page_size=20').set('Authorization', `Bearer ${user.jwt}`).expect(200);
  });
});

describe('Trust: one key cannot take every query slot (e2e)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ MCP_CALLS_PER_KEY: '1', ...withMarket }, { keepDatabase: true });
  });

  afterAll(async () => {
    await app.stop();
  });

  it('should queue one key past MCP_CALLS_PER_KEY, refuse what overflows its queue, and serve another key meanwhile', async () => {
    const busy = await createApiKey(app, (await registerAndLogin(app)).jwt);
    const other = await createApiKey(app, (await registerAndLogin(app)).jwt);
    const batch = (offset: number) => Array.from({ length: 100 }, (_, i) => callTool('get_daily_bars', { ts_code: '600519.SH' }, offset + i));
    const flood = Promise.all([0, 100, 200].map((offset) => rawRpc(app, batch(offset), busy.api_key).expect(200)));
    const meanwhile = await rawRpc(app, callTool('search_stocks', { query: '600519' }), other.api_key).expect(200);
    expect(meanwhile.body.result.structuredContent.row_count).toBe(1);

    const answers = (await flood).flatMap((response) => response.body as { result?: unknown; error?: { code: number; message: string } }[]);
    const refused = answers.filter((answer) => answer.error);
    expect(answers).toHaveLength(300);
    expect(refused.length).toBeGreaterThan(0);
    expect(new Set(refused.map((answer) => JSON.stringify(answer.error)))).toEqual(new Set([JSON.stringify({ code: -32029, message: 'Too many calls of this API key at once; retry shortly' })]));
    // What ran was recorded; what was refused never ran.
    expect(await waitForCount(app, busy.key_id, 300 - refused.length)).toBe(300 - refused.length);
  });
});

describe('Trust: one user cannot take every query slot with many keys (e2e)', () => {
  const METRICS_TOKEN = 'concurrency-metrics-token';
  let app: TestApp;
  let relay: ClickHouseRelay;
  let behind: AppBehindRelay;

  beforeAll(async () => {
    ({ app, relay } = behind = await startAppBehindRelay({ MCP_CONCURRENT_CALLS_PER_USER: '2', ...withMarket, METRICS_TOKEN }));
  });

  afterAll(() => behind.stop());

  const dailyBars = (id: number) => callTool('get_daily_bars', { ts_code: '600519.SH' }, id);
  type DailyBarsResult = { structuredContent: { table: string; rows: { ts_code: string }[] } };
  /** Sends now (supertest sends only once awaited) and resolves with the answer. */
  const sent = (test: ReturnType<typeof rawRpc>) => test.then((response) => response);
  const refusalsOf = async (scope: string) => {
    const { text } = await app.rest.get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(200);
    return Number(new RegExp(`^mcp_concurrency_refusals_total\\{scope="${scope}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
  };

  it("should run MCP_CONCURRENT_CALLS_PER_USER calls of one user at once, over all their keys and both transports, refuse the next at once, and run another user's", async () => {
    const owner = await registerAndLogin(app);
    const [first, second] = [await createApiKey(app, owner.jwt), await createApiKey(app, owner.jwt)];
    const other = await createApiKey(app, (await registerAndLogin(app)).jwt);
    // Verified now, so the keys are checked from the cache while ClickHouse is held.
    for (const key of [first, second, other]) await rawRpc(app, TOOLS_LIST, key.api_key).expect(200);
    const stream = await SseStream.opened(app, second.api_key);
    const refusal = { code: -32029, message: 'Too many calls of this account at once (at most 2, all its API keys together); retry shortly' };
    try {
      // The calls admitted wait for ClickHouse until the relay lets their queries through.
      relay.hold(DAILY_BARS_QUERY);
      const overHttp = sent(rawRpc(app, dailyBars(1), first.api_key));
      expect((await stream.post(dailyBars(2), second.api_key)).status).toBe(202);
      await relay.waitForHeld(DAILY_BARS_QUERY, 2);

      const third = await rawRpc(app, dailyBars(3), first.api_key);
      expect([third.status, third.body]).toEqual([200, { jsonrpc: '2.0', id: 3, error: refusal }]);
      expect((await stream.post(dailyBars(4), second.api_key)).status).toBe(202);
      expect(await stream.answerTo(4)).toEqual({ jsonrpc: '2.0', id: 4, error: refusal });
      const otherUsers = sent(rawRpc(app, dailyBars(5), other.api_key));
      await relay.waitForHeld(DAILY_BARS_QUERY, 3);

      relay.release();
      const results = [(await overHttp).body.result, (await stream.answerTo(2)).result, (await otherUsers).body.result] as DailyBarsResult[];
      expect(results.map(({ structuredContent }) => ({ table: structuredContent.table, codes: [...new Set(structuredContent.rows.map((row) => row.ts_code))] }))).toEqual(
        Array(3).fill({ table: 'ods_daily', codes: ['600519.SH'] }),
      );
    } finally {
      relay.release();
      await stream.close();
    }
    expect([await refusalsOf('user'), await refusalsOf('key')]).toEqual([2, 0]);
    // What ran was recorded; what was refused never ran.
    expect([await waitForCount(app, first.key_id, 1), await waitForCount(app, second.key_id, 1), await waitForCount(app, other.key_id, 1)]).toEqual([1, 1, 1]);
  });
});

describe('Trust: X-Forwarded-For is ignored unless TRUST_PROXY says otherwise (e2e)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ AUTH_RATE_LIMIT: '3', MCP_AUTH_FAILURE_LIMIT: '2', HTTP_MAX_CONNECTIONS_PER_ADDRESS: '8', MCP_THROTTLED_HOLD_MS: '1000' });
  });

  /** tools/list with a random key from a loopback address of our choosing; resolves with the status (0 when the connection was dropped) and how long the answer took. */
  const timedFromLoopback = (localAddress: string) =>
    new Promise<{ status: number; ms: number }>((resolve) => {
      const started = Date.now();
      const body = JSON.stringify(TOOLS_LIST);
      const key = `sk-${'ab'.repeat(32)}`;
      const req = request(`${app.mcpUrl}/messages`, { method: 'POST', localAddress, agent: false, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'content-length': body.length } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - started }));
      });
      req.on('error', () => resolve({ status: 0, ms: Date.now() - started }));
      req.end(body);
    });
  const fromLoopback = async (localAddress: string) => (await timedFromLoopback(localAddress)).status;

  /** An idle connection from `localAddress`; resolves once it is open, or closed by the server before any response. */
  const idleConnection = (localAddress: string) =>
    new Promise<{ socket: Socket; closedEarly: Promise<boolean> }>((resolve) => {
      const socket = connect({ port: portOf(app.mcpUrl), host: '127.0.0.1', localAddress });
      socket.on('error', () => undefined);
      const closedEarly = new Promise<boolean>((closed) => {
        socket.on('close', () => closed(true));
        setTimeout(() => closed(false), 500);
      });
      socket.on('connect', () => resolve({ socket, closedEarly }));
      socket.on('close', () => resolve({ socket, closedEarly }));
    });

  it('should hold at most HTTP_MAX_CONNECTIONS_PER_ADDRESS connections from one peer, and serve the others', async () => {
    const held = await Promise.all(Array.from({ length: 8 }, () => idleConnection('127.0.0.4')));
    expect(await Promise.all(held.map((connection) => connection.closedEarly))).toEqual(Array(8).fill(false));
    const ninth = await idleConnection('127.0.0.4');
    expect(await ninth.closedEarly).toBe(true);
    expect(await fromLoopback('127.0.0.5')).toBe(401);
    for (const { socket } of held) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await fromLoopback('127.0.0.4')).toBe(401);
  });

  it('should keep a throttled peer waiting MCP_THROTTLED_HOLD_MS for its 429, and answer other peers at once', async () => {
    expect([await fromLoopback('127.0.0.2'), await fromLoopback('127.0.0.2')]).toEqual([401, 401]);
    const [held, other] = await Promise.all([timedFromLoopback('127.0.0.2'), timedFromLoopback('127.0.0.3')]);
    expect(held.status).toBe(429);
    expect(held.ms).toBeGreaterThanOrEqual(1000);
    expect(other.status).toBe(401);
    expect(other.ms).toBeLessThan(1000);
  });

  afterAll(async () => {
    await app.stop();
  });

  it('should count every login from one socket address against one budget, whatever X-Forwarded-For says', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await app.rest.post('/api/auth/login').set('X-Forwarded-For', `10.0.0.${i}`).send({ email: 'nobody@example.com', password: 'whatever1' });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});

describe('Trust: slow clients (e2e)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '2000', HTTP_MAX_CONNECTIONS: '600', HTTP_MAX_CONNECTIONS_PER_ADDRESS: '600' });
  });

  afterAll(async () => {
    await app.stop();
  });

  /** Opens a socket, writes `head`, and resolves with what came back and how long the server kept it open. */
  const holdOpen = (port: number, head: string) =>
    new Promise<{ text: string; openMs: number }>((resolve) => {
      const started = Date.now();
      const socket = connect(port, '127.0.0.1', () => socket.write(head));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve({ text, openMs: Date.now() - started }));
    });

  it.each(['rest', 'mcp'] as const)('should close a %s connection whose headers never finish', async (listener) => {
    const url = listener === 'rest' ? app.restUrl : app.mcpUrl;
    const { openMs } = await holdOpen(portOf(url), 'POST /messages HTTP/1.1\r\nHost: x\r\n');
    expect(openMs).toBeLessThan(8000);
  });

  it.each(['rest', 'mcp'] as const)('should answer 408 to a %s body that trickles past the request timeout', async (listener) => {
    const url = listener === 'rest' ? app.restUrl : app.mcpUrl;
    const path = listener === 'rest' ? '/api/auth/login' : '/messages';
    const { text, openMs } = await holdOpen(portOf(url), `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":`);
    expect(text).toMatch(/^HTTP\/1\.1 408/);
    expect(openMs).toBeLessThan(8000);
  });

  it('should hold 500 slow-body sockets in well under 100 MiB', async () => {
    const before = residentMiB(app.process.pid!);
    const sockets: Socket[] = [];
    for (let i = 0; i < 500; i++) {
      const socket = connect(i % 2 ? portOf(app.mcpUrl) : portOf(app.restUrl), '127.0.0.1');
      socket.on('error', () => undefined);
      const path = i % 2 ? '/messages' : '/api/auth/login';
      // Each declares a body just under the limit and sends 32 KiB of it, then stalls.
      socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"p":"${'x'.repeat(32 * 1024)}`);
      sockets.push(socket);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const during = residentMiB(app.process.pid!);
    for (const socket of sockets) socket.destroy();
    expect(during - before).toBeLessThan(100);
    await app.rest.get('/health').expect(200);
  });

  it('should refuse a body declared over the limit before reading it', async () => {
    const { text } = await holdOpen(portOf(app.mcpUrl), 'POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4194304\r\n\r\n{');
    expect(text).toMatch(/^HTTP\/1\.1 413/);
  });
});
