import fc from 'fast-check';
import { createApiKey, rawRpc } from './support/mcp.js';
import { SseStream } from './support/sse-stream.js';
import { type LoggedInUser, type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';

/**
 * Property-based fuzzing of every REST endpoint and every tool with hostile values. Whatever is
 * sent, the answer is never a 5xx (nor a JSON-RPC internal error), the process stays up, and
 * /health is 200 afterwards. Runs are seeded by fast-check; a failure prints the seed and the
 * shrunk input that reproduces it.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);

/** Stands for a value nested 5000 levels deep; see serialize(). */
const DEEP = '<5000 nested arrays>';

const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '\ud800',
    'a\udfffb',
    '\u0000',
    'nul\u0000in the middle',
    "'; DROP TABLE users; --",
    "\\'; SELECT 1; --",
    '9999-12-31',
    '1900-01-01',
    '0000-00-00',
    '2105-12-31',
    '2106-02-08',
    '20261301',
    '99999999',
    '-1',
    '1e309',
    'NaN',
    '000001.SZ',
    'sk-' + '0'.repeat(64),
    '平安银行😀',
    '\u202eevil',
    '%00',
    '../../etc/passwd',
  ),
  fc.constant('x'.repeat(100_000)),
);

const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.constantFrom(0, -0, 1, -1, 2 ** 53 + 2, -(2 ** 63), 1e308, -1e308, 5e-324, 1.5, 366, 1_000_000_001),
);

const hostileScalar = fc.oneof(hostileString, hostileNumber, fc.boolean(), fc.constant(null));

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: hostileScalar },
  { weight: 1, arbitrary: fc.array(hostileScalar, { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.dictionary(hostileString, hostileScalar, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.constant(DEEP) },
);

/** JSON text of a generated value, with DEEP swapped for 5000 nested arrays (kept out of fast-check's own printing). */
function serialize(value: unknown): string {
  return (JSON.stringify(value) ?? 'null').replaceAll(JSON.stringify(DEEP), '['.repeat(5000) + ']'.repeat(5000));
}

/** An object with the fields an endpoint knows (some left out) and a few it does not, all hostile. */
const hostileObject = (fields: string[]) =>
  fc.record(
    {
      ...Object.fromEntries(fields.map((field) => [field, hostileValue])),
      extra: fc.dictionary(fc.string({ maxLength: 12 }), hostileValue, { maxKeys: 2 }),
    },
    { requiredKeys: [] },
  );

/** A query string of known and unknown parameters with hostile values, percent-encoded byte by byte when needed. */
const hostileQuery = (fields: string[]) =>
  fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...fields), fc.string({ maxLength: 8 })), fc.oneof(hostileString, hostileNumber.map(String))), { maxLength: 5 })
    .map((pairs) => pairs.map(([key, value]) => `${encodeLoosely(key)}=${encodeLoosely(value)}`).join('&'));

function encodeLoosely(text: string): string {
  return Buffer.from(text.slice(0, 2000), 'utf8')
    .toString('hex')
    .replace(/(..)/g, '%$1');
}

const oddContentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-16',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '\u00a0application/json',
  'application/json;;;',
  'application/json, text/plain',
  '',
);

const bodyText = fc.oneof(
  hostileValue.map(serialize),
  fc.string(),
  fc.constantFrom('{', '{"a":', '[]', 'null', '"\\ud800"', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"x":1}}}'),
);

describe('Fuzzing every endpoint and tool with hostile input (e2e)', () => {
  let app: TestApp;
  let user: LoggedInUser;
  let apiKey: string;
  let toolNames: string[];

  beforeAll(async () => {
    // Generous limits: the fuzz is about answers to hostile input, not about the throttles.
    app = await startTestApp({ AUTH_RATE_LIMIT: '100000', MCP_AUTH_FAILURE_LIMIT: '100000', AUTH_ACCOUNT_FAILURE_LIMIT: '100000', USAGE_QUERIES_PER_USER: '50' });
    user = await registerAndLogin(app);
    apiKey = (await createApiKey(app, user.jwt)).api_key;
    const listed = await rawRpc(app, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, apiKey).expect(200);
    toolNames = (listed.body.result.tools as { name: string }[]).map((tool) => tool.name);
  });

  afterAll(async () => {
    await app.stop();
  });

  const auth = () => `Bearer ${user.jwt}`;
  const expectNo5xx = (status: number, what: string) => {
    if (status >= 500) throw new Error(`${what} answered ${status}`);
  };

  it.each([
    ['/api/auth/register', ['email', 'password', 'username']],
    ['/api/auth/login', ['email', 'password']],
    ['/api/mcp-keys/create', ['key_name', 'expires_days', 'policy']],
    ['/api/mcp-keys/revoke', ['key_id']],
    ['/api/mcp-keys/policy', ['key_id', 'policy']],
  ])('POST %s never answers 5xx', async (path, fields) => {
    await fc.assert(
      fc.asyncProperty(hostileObject(fields), fc.boolean(), async (body, authenticated) => {
        const request = app.rest.post(path).set('Content-Type', 'application/json');
        if (authenticated) request.set('Authorization', auth());
        const response = await request.send(serialize(body));
        expectNo5xx(response.status, `POST ${path} ${serialize(body).slice(0, 200)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('a key policy of hostile values never answers 5xx, and never changes the key unless it is valid', async () => {
    const { key_id: keyId } = await createApiKey(app, user.jwt, { key_name: 'fuzzed-policy' });
    const policyFields = ['tools', 'tables', 'calls_per_minute', 'records_per_day', 'records_per_month', 'calls_per_day'];
    await fc.assert(
      fc.asyncProperty(hostileObject(policyFields), async (policy) => {
        const body = serialize({ key_id: keyId, policy });
        const response = await app.rest.post('/api/mcp-keys/policy').set('Content-Type', 'application/json').set('Authorization', auth()).send(body);
        expectNo5xx(response.status, `POST /api/mcp-keys/policy ${body.slice(0, 200)}`);
        expect([200, 400]).toContain(response.status);
      }),
      { numRuns: RUNS },
    );
  });

  it.each([
    ['/api/mcp-usage/history', ['page', 'page_size', 'start_date', 'end_date', 'tool_name', 'api_key_id']],
    ['/api/mcp-usage/stats', ['days', 'start_date', 'end_date', 'api_key_id']],
    ['/api/mcp-keys/list', []],
    ['/api/auth/me', []],
    ['/health', []],
  ])('GET %s never answers 5xx', async (path, fields) => {
    await fc.assert(
      fc.asyncProperty(hostileQuery(fields.length ? fields : ['x']), async (query) => {
        const response = await app.rest.get(`${path}?${query}`).set('Authorization', auth());
        expectNo5xx(response.status, `GET ${path}?${query.slice(0, 200)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('REST answers any body under any content type without a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/api/auth/login', '/api/mcp-keys/create', '/api/mcp-keys/revoke', '/api/mcp-keys/policy'), oddContentType, bodyText, async (path, type, body) => {
        const response = await app.rest.post(path).set('Authorization', auth()).set('Content-Type', type).send(body);
        expectNo5xx(response.status, `POST ${path} (${type}) ${body.slice(0, 200)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('every tool answers hostile arguments with a result or a tool error, never a server error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...toolNames), fc.oneof(hostileObject(['ts_code', 'ts_codes', 'code', 'codes', 'start_date', 'end_date', 'trade_date', 'date', 'query', 'industry', 'limit', 'exchange', 'is_open', 'list_status', 'adjust', 'freq', 'ma', 'fields', 'format']), hostileValue), async (name, args) => {
        const response = await app.mcp
          .post('/messages')
          .set('Content-Type', 'application/json')
          .set('Authorization', `Bearer ${apiKey}`)
          .send(serialize({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name, arguments: args } }));
        expectNo5xx(response.status, `${name} ${serialize(args).slice(0, 200)}`);
        const message = response.body as { result?: { isError?: boolean; content: { text: string }[] }; error?: { code: number; message: string } };
        if (message.error) {
          // Arguments that are not an object at all are refused by the SDK's own schema.
          expect(message.error.code).toBe(-32602);
        } else {
          expect(message.result!.content[0].text).not.toMatch(/failed unexpectedly|did not answer/);
        }
      }),
      { numRuns: RUNS * 4 },
    );
  });

  /** A JSON-RPC message of known and unknown methods, any member left out or hostile. */
  const hostileMessage = fc.record(
    { jsonrpc: fc.oneof(fc.constant('2.0'), hostileScalar), id: hostileScalar, method: fc.oneof(fc.constantFrom('tools/list', 'tools/call', 'initialize', 'ping', 'notifications/initialized', 'resources/list'), hostileString), params: hostileValue },
    { requiredKeys: [] },
  );

  it('the MCP port answers any message, method, path and content type without a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(hostileMessage.map(serialize), fc.array(hostileMessage, { maxLength: 5 }).map(serialize), bodyText),
        oddContentType,
        fc.constantFrom('POST', 'GET', 'PUT', 'DELETE', 'OPTIONS'),
        fc.constantFrom('/messages', '/messages?x=1', '/messages/', '/', '/docs', '/%ff', '/messages?sessionId=%00'),
        fc.boolean(),
        async (body, type, method, path, withKey) => {
          const request = app.mcp[method.toLowerCase() as 'post'](path).set('Content-Type', type);
          if (withKey) request.set('Authorization', `Bearer ${apiKey}`);
          const response = await request.send(body);
          expectNo5xx(response.status, `${method} ${path} (${type}) ${body.slice(0, 200)}`);
          if (response.body?.error) expect(response.body.error.code).not.toBe(-32603);
        },
      ),
      { numRuns: RUNS * 4 },
    );
  });

  it("a legacy SSE session answers any body its own key posts 202 or a JSON-RPC 4xx, and keeps serving", async () => {
    const stream = await SseStream.opened(app, apiKey);
    try {
      await fc.assert(
        fc.asyncProperty(fc.oneof(hostileMessage.map(serialize), fc.array(hostileMessage, { maxLength: 3 }).map(serialize), bodyText), async (body) => {
          const response = await app.mcp.post(stream.endpoint).set('Content-Type', 'application/json').set('Authorization', `Bearer ${apiKey}`).send(body);
          const what = `POST ${stream.endpoint} ${body.slice(0, 200)}`;
          expectNo5xx(response.status, what);
          if (response.status === 202) return;
          // Every refusal in the house's shape: a JSON-RPC error object, never the SDK's text/plain.
          expect([what, response.status < 500, response.headers['content-type'], response.body.jsonrpc, typeof response.body.error?.code]).toEqual([
            what,
            true,
            'application/json; charset=utf-8',
            '2.0',
            'number',
          ]);
        }),
        { numRuns: RUNS * 2 },
      );
      expect((await stream.post({ jsonrpc: '2.0', id: 'after-fuzz', method: 'ping' }, apiKey)).status).toBe(202);
      expect(await stream.answerTo('after-fuzz')).toEqual({ jsonrpc: '2.0', id: 'after-fuzz', result: {} });
    } finally {
      await stream.close();
    }
  });

  describe('OAuth sign-in endpoints', () => {
    let clientId: string;
    const oauthFields = ['client_id', 'redirect_uri', 'response_type', 'code_challenge', 'code_challenge_method', 'state', 'scope', 'resource', 'email', 'password'];
    const tokenFields = ['grant_type', 'code', 'code_verifier', 'refresh_token', 'client_id', 'client_secret', 'redirect_uri', 'resource', 'token', 'token_type_hint'];
    /** A form of known and unknown fields, the client id sometimes a real one so the later checks are reached too. */
    const hostileForm = (fields: string[]) =>
      fc.tuple(hostileQuery(fields), fc.boolean()).map(([query, known]) => (known ? `client_id=${clientId}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&${query}` : query));

    beforeAll(async () => {
      const registered = await app.rest.post('/register').send({ client_name: 'fuzz', redirect_uris: ['http://127.0.0.1:9/cb'] }).expect(201);
      clientId = registered.body.client_id;
    });

    it('POST /register of hostile client metadata never answers 5xx', async () => {
      const fields = ['client_name', 'redirect_uris', 'token_endpoint_auth_method', 'grant_types', 'response_types', 'scope', 'client_uri', 'logo_uri', 'software_id'];
      await fc.assert(
        fc.asyncProperty(hostileObject(fields), oddContentType, async (body, type) => {
          const response = await app.rest.post('/register').set('Content-Type', type).send(serialize(body));
          expectNo5xx(response.status, `POST /register (${type}) ${serialize(body).slice(0, 200)}`);
        }),
        { numRuns: RUNS },
      );
    });

    it.each([
      ['POST', '/token', tokenFields],
      ['POST', '/revoke', tokenFields],
      ['POST', '/authorize', oauthFields],
      ['GET', '/authorize', oauthFields],
    ])('%s %s of a hostile form never answers 5xx', async (method, path, fields) => {
      await fc.assert(
        fc.asyncProperty(hostileForm(fields), oddContentType, async (form, type) => {
          const response =
            method === 'GET' ? await app.rest.get(`${path}?${form}`) : await app.rest.post(path).set('Content-Type', type === 'application/json' ? 'application/x-www-form-urlencoded' : type).send(form);
          expectNo5xx(response.status, `${method} ${path} ${form.slice(0, 200)}`);
          // Nothing redirects before a sign-in, and a hostile form never signs anyone in.
          expect([form.slice(0, 200), response.headers.location]).toEqual([form.slice(0, 200), undefined]);
        }),
        { numRuns: RUNS },
      );
    });
  });

  it('is still up and healthy, and logged no unhandled error', async () => {
    await app.rest.get('/health').expect(200);
    expect(app.process.exitCode).toBeNull();
    const output = app.output();
    expect(output).not.toContain('unhandled promise rejection');
    expect(output).not.toContain('unhandled error');
    expect(output).not.toContain('MCP request failed');
  });
});
