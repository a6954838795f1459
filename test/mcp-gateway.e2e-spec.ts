import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { queryRows, rawClient } from './support/clickhouse.js';
import { connectSdkClient, createApiKey, rawRpc } from './support/mcp.js';
import { type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';

const STOCK_TOOL_NAMES = ['get_daily_bars', 'get_daily_basic', 'get_latest_bars', 'get_trade_calendar', 'search_stocks'];
/** The original service's tool names, which its agents call. */
const TUSHARE_TOOL_NAMES = [
  'tushare_adj_factor_get_adj_factor',
  'tushare_adj_factor_get_latest_adj_factor',
  'tushare_daily_basic_get_all_daily_basic_by_date',
  'tushare_daily_basic_get_daily_basic',
  'tushare_daily_basic_get_latest_daily_basic',
  'tushare_daily_basic_get_latest_trade_date',
  'tushare_daily_get_all_daily_by_date',
  'tushare_daily_get_daily_data',
  'tushare_daily_get_daily_stats',
  'tushare_daily_get_latest_daily',
  'tushare_daily_get_latest_trade_date',
  'tushare_stock_basic_get_all_industries',
  'tushare_stock_basic_get_all_stock_basic_df',
  'tushare_stock_basic_get_all_stock_names',
  'tushare_stock_basic_get_all_stocks',
  'tushare_stock_basic_get_stock_basic',
  'tushare_stock_basic_get_stocks_by_industry',
  'tushare_trade_calendar_get_next_trading_day',
  'tushare_trade_calendar_get_trade_calendar',
  'tushare_trade_calendar_get_trading_days',
];
const TOOL_NAMES = [...STOCK_TOOL_NAMES, ...TUSHARE_TOOL_NAMES];
const INITIALIZE = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } },
};
const TOOLS_LIST = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };

interface ToolOutput {
  table: string;
  row_count: number;
  truncated: boolean;
  rows: Record<string, unknown>[];
}

describe('MCP gateway (e2e)', () => {
  let app: TestApp;
  let apiKey: string;

  beforeAll(async () => {
    app = await startTestApp({ DEMO_DATA: 'true' });
    const user = await registerAndLogin(app);
    apiKey = (await createApiKey(app, user.jwt, { key_name: 'gateway-e2e' })).api_key;
  });

  afterAll(async () => {
    await app.stop();
  });

  describe('authentication', () => {
    it('should answer the seed’s plain tools/list curl without a key with 401 "API key required"', async () => {
      const response = await rawRpc(app, TOOLS_LIST).expect(401);
      // RFC 9728: where an MCP client learns how to sign in instead.
      expect(response.headers['www-authenticate']).toBe(`Bearer realm="mcp", resource_metadata="${app.mcpUrl}/.well-known/oauth-protected-resource/messages"`);
      expect(response.body).toEqual({ jsonrpc: '2.0', id: 1, error: { code: -32001, message: 'API key required' } });
    });

    it.each([
      ['an unknown key', `sk-${'0'.repeat(64)}`],
      ['a malformed key', 'sk-not-a-real-key'],
      ['a JWT instead of a key', 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln'],
    ])('should answer %s with 401 "Invalid or expired API key"', async (_name, key) => {
      const response = await rawRpc(app, { ...TOOLS_LIST, id: 'abc' }, key).expect(401);
      expect(response.headers['www-authenticate']).toBe(`Bearer realm="mcp", error="invalid_token", resource_metadata="${app.mcpUrl}/.well-known/oauth-protected-resource/messages"`);
      expect(response.body).toEqual({ jsonrpc: '2.0', id: 'abc', error: { code: -32001, message: 'Invalid or expired API key' } });
    });

    it('should let initialize and notifications through without a key', async () => {
      const response = await rawRpc(app, INITIALIZE).expect(200);
      expect(response.body.result.serverInfo).toEqual({ name: 'stock-data', version: '1.0.0' });
      expect(response.body.result.capabilities.tools).toBeDefined();
      await rawRpc(app, { jsonrpc: '2.0', method: 'notifications/initialized' }).expect(202);
    });

    it('should answer every request of a batch when the key is valid', async () => {
      const response = await rawRpc(app, [TOOLS_LIST, { jsonrpc: '2.0', id: 2, method: 'ping' }], apiKey).expect(200);
      expect(response.body.map((message: { id: number }) => message.id).sort()).toEqual([1, 2]);
    });

    it('should refuse a batch that hides tools/list behind initialize', async () => {
      const response = await rawRpc(app, [INITIALIZE, TOOLS_LIST]).expect(401);
      expect(response.body).toEqual({ jsonrpc: '2.0', id: 1, error: { code: -32001, message: 'API key required' } });
    });

    it.each(['ping', 'tools/call', 'resources/list', 'prompts/list'])('should require a key for %s', async (method) => {
      await rawRpc(app, { jsonrpc: '2.0', id: 7, method, params: {} }).expect(401);
    });
  });

  describe('the seed’s plain curl with a key', () => {
    it('should return the tool list as JSON without Accept, initialize or session id', async () => {
      const response = await rawRpc(app, TOOLS_LIST, apiKey).expect(200).expect('Content-Type', /application\/json/);
      expect(response.headers['mcp-session-id']).toBeUndefined();
      const tools = response.body.result.tools;
      expect(tools.map((t: { name: string }) => t.name).sort()).toEqual(TOOL_NAMES);
      for (const tool of tools) {
        expect(tool.description.length).toBeGreaterThan(20);
        expect(tool.inputSchema.type).toBe('object');
        expect(tool.outputSchema.required).toEqual(['table', 'row_count', 'truncated', 'rows']);
      }
      const bars = tools.find((t: { name: string }) => t.name === 'get_daily_bars');
      expect(bars.inputSchema.required).toEqual(['ts_code']);
      expect(bars.inputSchema.properties.ts_code.description).toEqual(expect.any(String));
    });

    it('should call a tool and return rows with their exact count', async () => {
      const response = await rawRpc(app, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'search_stocks', arguments: { query: '000001' } } }, apiKey).expect(200);
      const output = response.body.result.structuredContent as ToolOutput;
      expect(output.table).toBe('ods_stock_basic');
      expect(output.rows.map((r) => r.ts_code)).toEqual(['000001.SZ']);
      expect(output.row_count).toBe(1);
      expect(JSON.parse(response.body.result.content[0].text)).toEqual(output);
    });
  });

  describe('protocol errors', () => {
    it('should answer malformed JSON with 400 and a JSON-RPC parse error', async () => {
      const response = await app.mcp.post('/messages').set('Content-Type', 'application/json').set('Authorization', `Bearer ${apiKey}`).send('{"jsonrpc": "2.0", "id": 1,').expect(400);
      expect(response.body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
      expect(response.body.error.message).toMatch(/^Parse error: malformed JSON in request body/);
    });

    it('should answer an oversize body with 413', async () => {
      const huge = { ...TOOLS_LIST, params: { padding: 'x'.repeat(2 * 1024 * 1024) } };
      const response = await rawRpc(app, huge, apiKey).expect(413);
      expect(response.body.error.message).toBe('Request body is larger than the 1048576-byte limit');
    });

    it('should answer GET and DELETE with 405', async () => {
      await app.mcp.get('/messages').expect(405).expect('Allow', 'POST');
      await app.mcp.delete('/messages').expect(405);
    });

    it('should refuse a browser Origin that is not allowed with 403, and allow localhost on any port', async () => {
      const refused = await rawRpc(app, TOOLS_LIST, apiKey).set('Origin', 'http://evil.example').expect(403);
      expect(refused.body.error.message).toBe('Origin "http://evil.example" is not allowed');
      await rawRpc(app, TOOLS_LIST, apiKey).set('Origin', 'http://localhost:3000').expect(200);
    });

    it('should answer an unknown tool with a JSON-RPC invalid-params error', async () => {
      const response = await rawRpc(app, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'drop_everything', arguments: {} } }, apiKey).expect(200);
      expect(response.body.error).toEqual({ code: -32602, message: 'Unknown tool: "drop_everything"' });
    });
  });

  describe('with the official SDK client', () => {
    let client: Client;

    beforeAll(async () => {
      client = await connectSdkClient(app, apiKey);
    });

    afterAll(async () => {
      await client.close();
    });

    const call = async (name: string, args: Record<string, unknown>) => {
      const result = await client.callTool({ name, arguments: args });
      return { result, output: result.structuredContent as ToolOutput };
    };

    it('should list every tool', async () => {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(TOOL_NAMES);
    });

    it('should return daily bars for a code and date range, in both date formats', async () => {
      const { output } = await call('get_daily_bars', { ts_code: '000001.sz', start_date: '20251103', end_date: '2025-11-07' });
      expect(output.table).toBe('ods_daily');
      expect(output.rows.map((r) => r.trade_date)).toEqual(['2025-11-03', '2025-11-04', '2025-11-05', '2025-11-06', '2025-11-07']);
      expect(output.rows.every((r) => r.ts_code === '000001.SZ')).toBe(true);
      expect(output.row_count).toBe(5);
    });

    it('should return the latest bar of each requested code', async () => {
      const { output } = await call('get_latest_bars', { ts_codes: ['000001.SZ', '600519.SH'] });
      expect(output.row_count).toBe(2);
      expect(output.rows.map((r) => r.ts_code).sort()).toEqual(['000001.SZ', '600519.SH']);
      expect(new Set(output.rows.map((r) => r.trade_date)).size).toBe(1);
    });

    it('should return the trading calendar for a range', async () => {
      const { output } = await call('get_trade_calendar', { exchange: 'SSE', start_date: '2025-11-03', end_date: '2025-11-09' });
      expect(output.rows.map((r) => [r.cal_date, r.is_open])).toEqual([
        ['2025-11-03', 1], ['2025-11-04', 1], ['2025-11-05', 1], ['2025-11-06', 1], ['2025-11-07', 1], ['2025-11-08', 0], ['2025-11-09', 0],
      ]);
    });

    it('should return daily valuation metrics', async () => {
      const { output } = await call('get_daily_basic', { ts_code: '600519.SH', start_date: '2025-11-03', end_date: '2025-11-07' });
      expect(output.table).toBe('ods_daily_basic');
      expect(output.row_count).toBe(5);
      expect(output.rows[0]).toEqual(expect.objectContaining({ ts_code: '600519.SH', pe: expect.any(Number), pb: expect.any(Number), total_mv: expect.any(Number) }));
    });

    it('should return the whole history of a code in one call under the row cap', async () => {
      const { output } = await call('get_daily_bars', { ts_code: '000001.SZ' });
      expect(output.truncated).toBe(false);
      expect(output.row_count).toBe(output.rows.length);
      expect(output.row_count).toBeGreaterThan(480);
    });

    it('should answer invalid arguments with a tool error, not a crash', async () => {
      const { result } = await call('get_daily_bars', { ts_code: true, start_date: '2025-02-30' });
      expect(result.isError).toBe(true);
      const text = (result.content as { text: string }[])[0].text;
      expect(text).toMatch(/^Invalid arguments for get_daily_bars/);
      expect(text).toMatch(/ts_code/);
      expect(text).toMatch(/start_date/);
    });

    it('should treat hostile arguments as data and change nothing', async () => {
      const client2 = rawClient(app.database);
      const count = async () => (await queryRows<{ n: string }>(client2, 'SELECT count() AS n FROM ods_daily'))[0].n;
      const before = await count();
      const injection = "'; DROP TABLE ods_daily; --";
      expect((await call('search_stocks', { query: injection })).output.row_count).toBe(0);
      expect((await call('search_stocks', { industry: `银行' OR '1'='1` })).output.row_count).toBe(0);
      expect((await call('search_stocks', { query: 'x'.repeat(100_000) })).result.isError).toBe(true);
      expect((await call('get_daily_bars', { ts_code: injection })).result.isError).toBe(true);
      expect((await call('get_latest_bars', { ts_codes: [injection] })).result.isError).toBe(true);
      expect((await call('get_trade_calendar', { start_date: '1900-01-01', end_date: '2025-01-01' })).result.isError).toBe(true);
      expect(await count()).toBe(before);
      await client2.close();
    });
  });
});
