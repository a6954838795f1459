import { Inject, Injectable } from '@nestjs/common';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  InitializeRequestSchema,
  ListToolsRequestSchema,
  PingRequestSchema,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { GateFullError, KeyedGate } from '../common/bounded-gate.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { JSON_RPC_RATE_LIMITED, JSON_RPC_UNAVAILABLE, JsonRpcHttpException } from './json-rpc-error.js';
import { UsageInterceptor, UsageUnavailableError } from '../mcp-usage/usage.interceptor.js';
import type { KeyOwner, McpRequest } from './api-key.guard.js';
import { ToolCallHandler } from '../market-data/tool-call.handler.js';
import { ToolRegistry } from '../market-data/tool-registry.js';

const SERVER_INFO = { name: 'stock-data', version: '1.0.0' };
/**
 * Every SDK Server builds an Ajv instance unless given a validator; with one Server per request
 * that cost about half a millisecond of CPU per call (see bench/README.md), so all share one.
 */
const SHARED_SCHEMA_VALIDATOR = new AjvJsonSchemaValidator();
const ACCEPT_BOTH = 'application/json, text/event-stream';
/** The SDK's own cap on messages in one batch: a whole batch of one key may wait for its turn. */
const MAX_BATCH_CALLS = 100;

/**
 * Serves one POST /messages. Stateless: a fresh SDK Server and transport per request, closed with
 * the response, so no state is shared between clients (GHSA-345p-7cg4-v4c7) and any instance
 * behind a load balancer can answer any request.
 */
@Injectable()
export class McpGatewayService {
  /** One key's tool calls run MCP_CALLS_PER_KEY at a time (a 100-call batch waits its turn), so one key cannot take every query slot. */
  private readonly callsPerKey: KeyedGate;

  constructor(
    private readonly registry: ToolRegistry,
    private readonly tools: ToolCallHandler,
    private readonly usage: UsageInterceptor,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.callsPerKey = new KeyedGate(config.mcp.callsPerKey, MAX_BATCH_CALLS);
  }

  /** Serves `body`, the message the guard judged; the transport never reads the request itself. */
  async handle(req: McpRequest, res: ServerResponse, body: unknown): Promise<void> {
    assertValidInitialize(body);
    acceptJsonAndEventStream(req);
    const server = this.createServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  private createServer(): Server {
    const server = new Server(SERVER_INFO, { capabilities: { tools: { listChanged: false } }, jsonSchemaValidator: SHARED_SCHEMA_VALIDATOR });
    onRequest(server, 'ping', PingRequestSchema, () => ({}));
    onRequest(server, 'tools/list', ListToolsRequestSchema, () => ({ tools: this.registry.definitions }));
    onRequest(server, 'tools/call', CallToolRequestSchema, async (request, extra) => {
      const { name, arguments: args } = request.params;
      // The guard verified a key for every tools/call, so the owner is always present here.
      const owner = extra.authInfo?.extra as KeyOwner;
      try {
        const outcome = await this.callsPerKey.run(owner.keyId, () => this.usage.intercept(owner, name, args, () => this.tools.call(name, args)));
        if (outcome.unknownTool) throw protocolError(ErrorCode.InvalidParams, outcome.errorMessage ?? 'Unknown tool');
        return outcome.result;
      } catch (error) {
        if (error instanceof UsageUnavailableError) throw protocolError(JSON_RPC_UNAVAILABLE, error.message);
        if (error instanceof GateFullError) throw protocolError(JSON_RPC_RATE_LIMITED, 'Too many calls of this API key at once; retry shortly');
        throw error;
      }
    });
    return server;
  }
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * Registers a handler whose request is validated here: the SDK parses a request's params before
 * any handler runs and reports a mismatch as -32603 "internal error"; invalid params are the
 * caller's mistake, -32602, with zod's account of what is wrong.
 */
function onRequest<Schema extends z.ZodType>(server: Server, method: string, schema: Schema, handler: (request: z.output<Schema>, extra: Extra) => unknown): void {
  server.setRequestHandler(z.looseObject({ method: z.literal(method) }), (request, extra) => {
    const parsed = schema.safeParse(request);
    if (!parsed.success) throw protocolError(ErrorCode.InvalidParams, `Invalid ${method} request: ${z.prettifyError(parsed.error)}`);
    return handler(parsed.data, extra) as never;
  });
}

/**
 * initialize is answered by the SDK itself, which reports bad params as an internal error; a
 * lone initialize (the transport refuses it inside a batch) is checked here instead.
 */
function assertValidInitialize(body: unknown): void {
  const message = body as { method?: unknown; id?: unknown };
  if (Array.isArray(body) || message?.method !== 'initialize' || InitializeRequestSchema.safeParse(body).success) return;
  const id = typeof message.id === 'string' || typeof message.id === 'number' ? message.id : null;
  throw new JsonRpcHttpException(200, 'Invalid initialize request: params must carry protocolVersion, capabilities and clientInfo', ErrorCode.InvalidParams, id);
}

/**
 * An error the SDK turns into a JSON-RPC error with exactly this code and message. (McpError would
 * prefix "MCP error <code>: " to the message, and the client's McpError prefixes it again.)
 */
function protocolError(code: number, message: string): Error & { code: number } {
  return Object.assign(new Error(message), { code });
}

/**
 * The transport answers 406 unless Accept lists both JSON and SSE. Plain clients such as the
 * documented curl send no Accept at all; with JSON responses enabled both kinds are served
 * correctly, so a missing or partial Accept is completed rather than refused.
 */
function acceptJsonAndEventStream(req: McpRequest): void {
  const accept = req.headers.accept ?? '';
  if (!accept.includes('application/json') || !accept.includes('text/event-stream')) req.headers.accept = ACCEPT_BOTH;
}
