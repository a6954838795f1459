import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { freePort, type LocalClickHouse, startLocalClickHouse } from '../scripts/lib/local-clickhouse.mjs';
import { pollUntil } from '../scripts/lib/poll.mjs';
import { DAILY_BARS_QUERY, startAppBehindRelay } from './support/clickhouse-relay.js';
import { clickHouseUrl } from './support/clickhouse.js';
import { createApiKey, rawRpc } from './support/mcp.js';
import { SseStream } from './support/sse-stream.js';
import { insertStockList } from './support/stock-list.js';
import { type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';
import { waitForCount } from './support/usage-log.js';

describe('Application (e2e)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });

  afterAll(async () => {
    await app.stop();
  });

  describe('listeners', () => {
    it('should serve REST routes on the REST port only', async () => {
      await app.rest.get('/health').expect(200);
      const response = await app.mcp.get('/health').expect(404);
      expect(response.body).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Not found: "/health"; the MCP endpoint is POST /messages' } });
      await app.mcp.post('/api/auth/login').send({ email: 'a@b.c', password: 'whatever1' }).expect(404);
      await app.mcp.get('/docs').expect(404);
      await app.mcp.get('/docs-json').expect(404);
    });

    it('should keep the MCP path off the REST port', async () => {
      const response = await app.rest.post('/messages').send({ jsonrpc: '2.0', id: 1, method: 'tools/list' }).expect(404);
      expect(response.body).toEqual({ statusCode: 404, detail: 'Cannot POST /messages' });
    });

    it('should answer unknown routes with a 404 in the error shape', async () => {
      const response = await app.rest.get('/api/nothing-here').expect(404);
      expect(response.body).toEqual({ statusCode: 404, detail: 'Cannot GET /api/nothing-here' });
    });
  });

  describe('health and docs', () => {
    it('should report ClickHouse as up', async () => {
      const response = await app.rest.get('/health').expect(200);
      expect(response.body.status).toBe('ok');
      expect(response.body.details.clickhouse).toMatchObject({ status: 'up', database: app.database, server: new URL(app.clickhouseUrl).host, version: expect.stringMatching(/^\d+\./) });
      // Without METERING_REDIS_URL each gateway meters on its own.
      expect(response.body.details.metering).toEqual({ status: 'up', shared_counters: 'off', shared_counter_failures: 0 });
    });

    it('should serve the OpenAPI document with every route, DTO and the bearer scheme', async () => {
      const response = await app.rest.get('/docs-json').expect(200);
      const document = response.body;
      expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/api/auth/register', '/api/auth/login', '/api/auth/me', '/health']));
      expect(Object.keys(document.components.schemas)).toEqual(expect.arrayContaining(['RegisterDto', 'LoginDto', 'TokenDto', 'UserProfileDto', 'ErrorResponseDto']));
      expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(document.components.schemas.RegisterDto.properties.email.example).toBe('your@email.com');
      await app.rest.get('/docs').expect(200).expect('Content-Type', /html/);
    });
  });

  describe('console', () => {
    it("should serve the console's source map in development only", async () => {
      const production = await startTestApp({ NODE_ENV: 'production' });
      try {
        const script = await production.rest.get('/console/console.js').expect(200);
        expect(script.text).toContain('sourceMappingURL=console.js.map');
        // Percent-encoded spellings too: the static server decodes the path before it finds the file.
        for (const path of ['/console/console.js.map', '/console/console.js%2Emap', '/console/console.js%2emap', '/console/console.js.ma%70', '/console/console.css%2Emap']) {
          const map = await production.rest.get(path).expect(404);
          expect(map.text).toBe('');
        }
      } finally {
        await production.stop();
      }
      // This file's app runs in development (NODE_ENV=test).
      const map = await app.rest.get('/console/console.js.map').expect(200);
      expect(JSON.parse(map.text).version).toBe(3);
    });
  });

  describe('logging', () => {
    it('should log one line per request with a request id and never a credential', async () => {
      const user = await registerAndLogin(app, 'logged@example.com');
      await app.rest.get('/api/auth/me').set('Authorization', `Bearer ${user.jwt}`).set('X-Request-Id', 'trace-me-123').expect(200).expect('X-Request-Id', 'trace-me-123');
      const lines = await app.waitForOutput(/"trace-me-123"/);
      const output = app.output();
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0])).toMatchObject({
        req: { id: 'trace-me-123', method: 'GET', url: '/api/auth/me', headers: { authorization: '[redacted]' } },
        res: { statusCode: 200 },
        listener: 'rest',
      });
      expect(output).not.toContain(user.jwt);
      expect(output).not.toContain(user.password);
    });
  });
});

/** A connection on which no request has arrived yet, like the spare one fetch opens after a client aborts a stream. */
function silentConnection(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A keep-alive connection left idle after one answered request (`path`, with `headers`, `body` for a POST). */
function idleConnection(url: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { agent: new Agent({ keepAlive: true }), method: body === undefined ? 'GET' : 'POST', headers }, (res) => {
      res.resume().once('end', () => resolve(req.socket as Socket));
    });
    req.once('error', reject);
    req.end(body);
  });
}

describe('Process lifecycle (e2e)', () => {
  it('should exit 0 on SIGTERM after closing both listeners', async () => {
    const app = await startTestApp();
    await app.rest.get('/health').expect(200);
    expect(await app.signal('SIGTERM')).toBe(0);
    await expect(request(app.restUrl).get('/health')).rejects.toThrow(/ECONNREFUSED/);
    await expect(request(app.mcpUrl).post('/messages')).rejects.toThrow(/ECONNREFUSED/);
    await app.stop();
  });

  it('should close idle connections on both ports at once on SIGTERM, also after a client aborted its SSE stream, and still answer and record the call under way', async () => {
    const behind = await startAppBehindRelay({ USAGE_FLUSH_INTERVAL_MS: '50' });
    const { app, relay } = behind;
    try {
      const key = await createApiKey(app, (await registerAndLogin(app)).jwt);
      const mcpHeaders = { Authorization: `Bearer ${key.api_key}`, 'Content-Type': 'application/json' };
      // Verified now, so that its calls are checked without ClickHouse while the relay holds.
      await rawRpc(app, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, key.api_key).expect(200);
      await (await SseStream.opened(app, key.api_key)).close();
      const open = await SseStream.opened(app, key.api_key);
      const idle = [
        await silentConnection(app.restUrl),
        await silentConnection(app.mcpUrl),
        await idleConnection(app.restUrl, '/health'),
        await idleConnection(app.mcpUrl, '/messages', mcpHeaders, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' })),
      ];
      relay.hold(DAILY_BARS_QUERY);
      const call = rawRpc(app, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'get_daily_bars', arguments: { ts_code: '600519.SH' } } }, key.api_key).then((answer) => answer);
      await relay.waitForHeld(DAILY_BARS_QUERY, 1);

      const exited = app.signal('SIGTERM');
      await open.ended;
      const closed = await pollUntil(() => idle.map((socket) => socket.closed), (states) => states.every(Boolean), { timeoutMs: 10_000, intervalMs: 20 });
      expect(closed).toEqual([true, true, true, true]);
      // Only now may the call's query go on: until it is answered, the gateway must still be there.
      expect(app.process.exitCode).toBeNull();
      relay.release();
      const answer = await call;
      expect([answer.status, answer.headers.connection, answer.body.result.structuredContent]).toEqual([200, 'close', { table: 'ods_daily', row_count: 0, truncated: false, rows: [] }]);
      expect(await exited).toBe(0);
      expect(await waitForCount(app, key.key_id, 1)).toBe(1);
    } finally {
      await behind.stop();
    }
  });

  it('should refuse to start in production without CLICKHOUSE_URL or JWT_SECRET, naming them', () => {
    const result = spawnSync(process.execPath, [resolve(import.meta.dirname, '../dist/main.js')], {
      env: { PATH: process.env.PATH, NODE_ENV: 'production', HTTP_PORT: 'x' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('CLICKHOUSE_URL is required');
    expect(result.stderr).toContain('JWT_SECRET is required when NODE_ENV=production');
    expect(result.stderr).toContain('HTTP_PORT');
  });
});

describe('ClickHouse outage (e2e)', () => {
  let clickhouse: LocalClickHouse;
  let dir: string;
  let app: TestApp;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stock-mcp-outage-'));
    clickhouse = await startLocalClickHouse({ dir });
    app = await startTestApp({ CLICKHOUSE_URL: clickhouse.url, CLICKHOUSE_REQUEST_TIMEOUT_MS: '2000' }, { keepDatabase: true });
  });

  afterAll(async () => {
    await app.signal('SIGTERM');
    await clickhouse.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('should answer 503 while ClickHouse is down and recover without a restart', async () => {
    await app.rest.get('/health').expect(200);
    const user = await registerAndLogin(app);
    // Killed: to the gateway the same outage as a stop, and at once, where a SIGTERM'd ClickHouse
    // 18.16 waits up to 8 s for the gateway's keep-alive connections to close.
    await clickhouse.stop('SIGKILL');
    const down = await app.rest.get('/health').expect(503);
    expect(down.body).toMatchObject({ statusCode: 503, status: 'error' });
    expect(down.body.details.clickhouse.status).toBe('down');

    const unavailable = { statusCode: 503, detail: 'The database is not answering; try again shortly' };
    const login = await app.rest.post('/api/auth/login').send({ email: user.email, password: user.password }).expect(503).expect('Retry-After', '5');
    expect(login.body).toEqual(unavailable);
    const keys = await app.rest.get('/api/mcp-keys/list').set('Authorization', `Bearer ${user.jwt}`).expect(503).expect('Retry-After', '5');
    expect(keys.body).toEqual(unavailable);

    clickhouse = await startLocalClickHouse({ dir, httpPort: clickhouse.httpPort, tcpPort: clickhouse.tcpPort });
    const up = await app.rest.get('/health').expect(200);
    expect(up.body.details.clickhouse.status).toBe('up');
    expect(app.process.exitCode).toBeNull();
  });
});

describe('Replicas listed in CLICKHOUSE_URL (e2e)', () => {
  it('should start, serve and record usage on the next server when the first does not answer, moving once', async () => {
    const closedPort = await freePort();
    const app = await startTestApp({ CLICKHOUSE_URL: `http://127.0.0.1:${closedPort},${clickHouseUrl()}` });
    try {
      await insertStockList(app.database);
      const user = await registerAndLogin(app);
      const key = await createApiKey(app, user.jwt);
      const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'search_stocks', arguments: { query: '600519' } } };
      const served = await rawRpc(app, call, key.api_key).expect(200);
      expect(served.body.result.structuredContent.row_count).toBe(1);
      await waitForCount(app, key.key_id, 1);
      const health = await app.rest.get('/health').expect(200);
      expect(health.body.details.clickhouse.server).toBe(new URL(clickHouseUrl()).host);
      // The unreachable server is passed over once, at start; the service stays on the one that answers.
      const moves = app.output().split('\n').filter((line) => line.includes('ClickHouse replica failed; using the next one'));
      expect(moves).toHaveLength(1);
      expect(moves[0]).toContain(`"replica":"127.0.0.1:${closedPort}"`);
      expect(moves[0]).not.toContain('http://');
    } finally {
      await app.stop();
    }
  });
});
