import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { createApiKey, rawRpc } from './support/mcp.js';
import { type LoggedInUser, type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';
import { waitForCount } from './support/usage-log.js';

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

describe('Legacy HTTP+SSE transport (GET /sse, POST /messages?sessionId=) (e2e)', () => {
  let app: TestApp;
  let user: LoggedInUser;

  beforeAll(async () => {
    app = await startTestApp({ DEMO_DATA: 'true', USAGE_FLUSH_INTERVAL_MS: '50' });
    user = await registerAndLogin(app);
  });

  afterAll(() => app.stop());

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
});
