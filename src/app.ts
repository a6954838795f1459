import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { resolve } from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { SchemaService } from './clickhouse/schema/schema.service.js';
import { AllExceptionsFilter } from './all-exceptions.filter.js';
import { ConnectionDrain } from './common/connection-drain.js';
import { ConnectionLimiter } from './common/connection-limiter.js';
import { createValidationPipe } from './common/validation.pipe.js';
import { UntrustedJsonPipe } from './common/untrusted-json.pipe.js';
import type { AppConfig } from './config/app-config.js';
import type { Clock } from './common/clock.js';
import { JSON_RPC_UNAVAILABLE, JsonRpcHttpException, writeJsonRpcError } from './mcp-gateway/json-rpc-error.js';
import { LegacySseService } from './mcp-gateway/legacy-sse.service.js';
import { McpHttpHandler } from './mcp-gateway/mcp-http.handler.js';
import { mountOAuthRoutes } from './mcp-oauth/oauth-routes.js';
import { PublicUrls } from './mcp-oauth/public-urls.js';
import { UsageWriter } from './mcp-usage/usage-writer.js';

export interface RunningApp {
  app: NestExpressApplication;
  restUrl: string;
  mcpUrl: string;
  /** Stops accepting on both listeners, lets in-flight requests finish, then runs shutdown hooks. */
  close(): Promise<void>;
}

function setUpSwagger(app: NestExpressApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Stock data MCP gateway')
      .setDescription('Accounts, personal MCP API keys and MCP usage history. The MCP endpoint itself is POST /messages on the MCP port.')
      .setVersion('1.0')
      // Relative: the document is served by the API it describes, whatever host and port that is.
      .addServer('/', 'This REST API (HTTP_PORT)')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'access_token from POST /api/auth/login' })
      .build(),
  );
  markPublicOperations(document);
  documentCommonErrors(document);
  document.info.license = { name: 'UNLICENSED' };
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}

const ERROR_SCHEMA = { $ref: '#/components/schemas/ErrorResponseDto' };

/** The answers any route may give, in the one error shape, where a route does not document its own. */
function documentCommonErrors(document: OpenAPIObject): void {
  const error = (description: string) => ({ description, content: { 'application/json': { schema: ERROR_SCHEMA } } });
  for (const operations of Object.values(document.paths)) {
    for (const operation of [operations.get, operations.post, operations.put, operations.delete, operations.patch]) {
      if (!operation) continue;
      const responses = operation.responses;
      if (operation.requestBody || (operation.parameters?.length ?? 0) > 0) {
        responses['400'] ??= error('A field or parameter is invalid: `detail` says which, `errors[]` lists each field');
      }
      if (operation.requestBody) responses['413'] ??= error('The body is larger than BODY_LIMIT_BYTES');
      responses['503'] ??= error('The database is unavailable; retry after the Retry-After header');
    }
  }
}

/** Operations without a security requirement are public: say so (`security: []`), so clients send no token. */
function markPublicOperations(document: OpenAPIObject): void {
  for (const operations of Object.values(document.paths)) {
    for (const operation of [operations.get, operations.post, operations.put, operations.delete, operations.patch]) {
      if (operation && operation.security === undefined) operation.security = [];
    }
  }
}

/**
 * The web console (console/, bundled into dist/console by npm run build) at /console; / leads there.
 * Its source map is for developers: production does not serve it (it would hand out the unminified source).
 */
function serveConsole(app: NestExpressApplication, env: AppConfig['env']): void {
  if (env === 'production') {
    app.use('/console/', (req: Request, res: Response, next: NextFunction) => (namesSourceMap(req.path) ? res.status(404).end() : next()));
  }
  app.useStaticAssets(resolve(import.meta.dirname, 'console'), { prefix: '/console/', index: 'index.html', redirect: false });
  const server = app.getHttpAdapter().getInstance();
  server.get('/', (_req, res) => res.redirect(302, '/console/'));
  server.get('/console', (_req, res) => res.redirect(301, '/console/'));
}

/**
 * Whether the path, as the static server decodes it (`console.js%2Emap` is console.js.map), names a
 * source map. A path that does not decode is no file: the static server refuses it itself.
 */
function namesSourceMap(path: string): boolean {
  try {
    return decodeURIComponent(path).toLowerCase().endsWith('.map');
  } catch {
    return false;
  }
}

function urlOf(server: Server): string {
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Slow clients cannot hold a listener: headers must arrive within headersTimeout, the whole
 * request within requestTimeout (Node answers 408 and closes), idle keep-alive connections close
 * after keepAliveTimeout, and connections beyond maxConnections, or beyond the per-address cap,
 * are dropped on arrival.
 */
function limitConnections(server: Server, config: AppConfig): void {
  // Node enforces both timeouts from a sweep that runs every 30 s by default; read at 'listening'.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = CONNECTION_SWEEP_MS;
  server.headersTimeout = config.http.headersTimeoutMs;
  server.requestTimeout = config.http.requestTimeoutMs;
  server.keepAliveTimeout = config.http.keepAliveTimeoutMs;
  server.maxConnections = config.http.maxConnections;
  const perAddress = new ConnectionLimiter(config.http.maxConnectionsPerAddress, config.http.trustProxy);
  server.on('connection', (socket: Socket) => perAddress.admit(socket));
}

const CONNECTION_SWEEP_MS = 1000;

/** Connections still busy this long after a stop signal are cut, so a slow answer or a stream cannot hold shutdown open. */
const SHUTDOWN_GRACE_MS = 5000;

const STOPPING = 'The service is shutting down; send the request again';
const STOPPING_HEADERS = { 'Retry-After': '1', 'Cache-Control': 'no-store' };

/** A REST request that arrived after the stop began: 503 in the one error shape. */
function refuseRestWhileStopping(res: ServerResponse): void {
  res.writeHead(503, { ...STOPPING_HEADERS, 'Content-Type': 'application/json' }).end(JSON.stringify({ statusCode: 503, detail: STOPPING }));
}

/** An MCP request that arrived after the stop began: 503 with a JSON-RPC error. */
function refuseMcpWhileStopping(res: ServerResponse): void {
  writeJsonRpcError(res, new JsonRpcHttpException(503, STOPPING, JSON_RPC_UNAVAILABLE, null, STOPPING_HEADERS));
}

/** Builds the one Nest application and opens its two listeners: REST (HTTP_PORT) and MCP (MCP_PORT). */
export async function startApp(config: AppConfig, options: { clock?: Clock } = {}): Promise<RunningApp> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, options.clock), { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  app.set('trust proxy', config.http.trustProxy);
  // nosniff, no framing (the Swagger page included), no referrer leaks. The service speaks plain
  // HTTP (TLS, and so HSTS, belong to the proxy in front), so no upgrade of the page's requests.
  app.use(
    helmet({
      frameguard: { action: 'deny' },
      strictTransportSecurity: false,
      contentSecurityPolicy: { directives: { 'frame-ancestors': ["'none'"], 'upgrade-insecure-requests': null } },
    }),
  );
  app.useBodyParser('json', { limit: config.http.bodyLimitBytes });
  app.useGlobalFilters(new AllExceptionsFilter());
  app.useGlobalPipes(new UntrustedJsonPipe(), createValidationPipe());
  if (config.oauth.enabled) mountOAuthRoutes(app, config);
  serveConsole(app, config.env);
  setUpSwagger(app);
  limitConnections(app.getHttpServer(), config);
  const restConnections = new ConnectionDrain(app.getHttpServer(), refuseRestWhileStopping);

  // Every module registered its tables when Nest built it; they are created or adopted before any request.
  await app.get(SchemaService).adoptAll();
  await app.listen(config.http.port, config.http.host);

  // The MCP port is served by its one door, without Express (see McpHttpHandler).
  const mcp = app.get(McpHttpHandler);
  const mcpServer = createServer((req, res) => void mcp.handle(req, res));
  limitConnections(mcpServer, config);
  const mcpConnections = new ConnectionDrain(mcpServer, refuseMcpWhileStopping);
  await listen(mcpServer, config.mcp.port, config.http.host);
  app.get(PublicUrls).setListeningPorts((app.getHttpServer().address() as AddressInfo).port, (mcpServer.address() as AddressInfo).port);

  return {
    app,
    restUrl: urlOf(app.getHttpServer()),
    mcpUrl: urlOf(mcpServer),
    close: async () => {
      // Calls arriving on open keep-alive connections while the listener drains are refused.
      app.get(UsageWriter).stopIntake();
      const closing = Promise.all([restConnections.close(SHUTDOWN_GRACE_MS), mcpConnections.close(SHUTDOWN_GRACE_MS)]);
      await app.get(LegacySseService).closeAll();
      await closing;
      // Shutdown hooks (the usage writer's last shipment among them) run once no request is left.
      await app.close();
    },
  };
}
