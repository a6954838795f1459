// The baseline: a bare MCP SDK server over plain node:http serving the gateway's own tool code
// (ToolRegistry + ToolCallHandler from the bench's build of src/, its result cache off), stateless exactly like
// McpGatewayService (fresh Server + transport per POST, JSON responses), with no Nest, no Express,
// no API key check, no usage recording and no request logging.
//
// Environment: BENCH_DIST (the compiled src/), PORT, CLICKHOUSE_URL, CLICKHOUSE_DATABASE,
// CLICKHOUSE_USER, CLICKHOUSE_PASSWORD.
import 'reflect-metadata';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';

const SHARED_SCHEMA_VALIDATOR = new AjvJsonSchemaValidator();

const fromDist = (path) => import(pathToFileURL(join(process.env.BENCH_DIST, path)).href);
const { loadAppConfig } = await fromDist('config/app-config.js');
const { ClickHouseService } = await fromDist('clickhouse/clickhouse.service.js');
const { SchemaService } = await fromDist('clickhouse/schema/schema.service.js');
const { MarketDataRepository } = await fromDist('market-data/market-data.repository.js');
const { ToolRegistry } = await fromDist('market-data/tool-registry.js');
const { ToolCallHandler } = await fromDist('market-data/tool-call.handler.js');
const { MarketCache } = await fromDist('market-data/market-cache.js');

// The baseline asks ClickHouse on every call: no result cache.
const config = loadAppConfig({ ...process.env, MARKET_CACHE_MAX_BYTES: '0' });
const clickhouse = new ClickHouseService(config);
const schema = new SchemaService(clickhouse);
const market = new MarketDataRepository(clickhouse, schema);
// The gateway created the tables; adopting them tells the tools which columns they have.
await schema.adoptAll();
const registry = new ToolRegistry(config);
const tools = new ToolCallHandler(registry, new MarketCache(market, clickhouse, config));

function createMcpServer() {
  // Tuned like the gateway: one schema validator per process, not one Ajv per request.
  const server = new Server({ name: 'bare-baseline', version: '1.0.0' }, { capabilities: { tools: { listChanged: false } }, jsonSchemaValidator: SHARED_SCHEMA_VALIDATOR });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: registry.definitions }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const outcome = await tools.call(request.params.name, request.params.arguments);
    if (outcome.unknownTool) throw Object.assign(new Error(outcome.errorMessage ?? 'Unknown tool'), { code: ErrorCode.InvalidParams });
    return outcome.result;
  });
  return server;
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function handle(req, res) {
  if (req.method !== 'POST') {
    res.writeHead(405, { Allow: 'POST' }).end();
    return;
  }
  let body;
  try {
    body = await readJson(req);
  } catch {
    res.writeHead(400).end();
    return;
  }
  const server = createMcpServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
}

const http = createServer((req, res) => {
  handle(req, res).catch((error) => {
    console.error(error);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
http.listen(Number(process.env.PORT), '127.0.0.1');

process.once('SIGTERM', () => {
  http.close();
  http.closeIdleConnections();
  void clickhouse.onApplicationShutdown().finally(() => process.exit(0));
});
