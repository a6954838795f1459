import { Inject, Injectable } from '@nestjs/common';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  type CallToolResult,
  CallToolRequestSchema,
  ErrorCode,
  InitializeRequestSchema,
  ListToolsRequestSchema,
  PingRequestSchema,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { StoreUnavailableError } from '../clickhouse/clickhouse-errors.js';
import { GateFullError, KeyedGate } from '../common/bounded-gate.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { JSON_RPC_QUOTA_EXHAUSTED, JSON_RPC_RATE_LIMITED, JSON_RPC_UNAVAILABLE, JsonRpcHttpException } from './json-rpc-error.js';
import { UsageInterceptor, UsageUnavailableError } from '../mcp-usage/usage.interceptor.js';
import type { KeyOwner, McpRequest } from './api-key.guard.js';
import { type ToolCallOutcome, ToolCallHandler } from '../market-data/tool-call.handler.js';
import { ToolRegistry } from '../market-data/tool-registry.js';
import type { StockTool } from '../market-data/stock-tool.js';
import { type KeyPolicy, scopeRefusal, tableScopeRefusal } from '../mcp-keys/key-policy.js';
import { type MeteredCall, MeteringService } from '../mcp-metering/metering.service.js';
import { QuotaExhaustedError, type QuotaState } from '../mcp-metering/quota-exhausted.error.js';
import { RateLimitedError } from '../mcp-metering/rate-limited.error.js';
import { GatewayMetrics } from './gateway.metrics.js';
import { loneToolCall } from './mcp-request.js';

const SERVER_INFO = { name: 'stock-data', version: '1.0.0' };
/**
 * Every SDK Server builds an Ajv instance unless given a validator; with one Server per request
 * that cost about half a millisecond of CPU per call (see bench/README.md), so all share one.
 */
const SHARED_SCHEMA_VALIDATOR = new AjvJsonSchemaValidator();
const ACCEPT_BOTH = 'application/json, text/event-stream';
/** The SDK's own cap on messages in one batch: a whole batch of one key may wait for its turn. */
const MAX_BATCH_CALLS = 100;
/** Retry-After of a lone call refused while the usage log or its counts cannot be reached. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;
/** Retry-After of a lone call refused while its key's or user's other calls fill their slots. */
const BUSY_RETRY_AFTER_SECONDS = 1;

/** How a call refused before it ran is answered. */
interface Refusal {
  /** The HTTP status of a lone call's refusal. */
  status: number;
  /** The JSON-RPC error code (the refusal of a call in a batch). */
  code: number;
  message: string;
  data?: object;
  retryAfterSeconds?: number;
}

/**
 * Serves one POST /messages. Stateless: a fresh SDK Server and transport per request, closed with
 * the response, so no state is shared between clients (GHSA-345p-7cg4-v4c7) and any instance
 * behind a load balancer can answer any request.
 */
@Injectable()
export class McpGatewayService {
  /** One key's tool calls run MCP_CALLS_PER_KEY at a time (a 100-call batch waits its turn), so one key cannot take every query slot. */
  private readonly callsPerKey: KeyedGate;
  /**
   * One user's tool calls run MCP_CONCURRENT_CALLS_PER_USER at a time, all their keys, tokens and
   * both transports together; one more is refused at once, so 20 keys hold no more query slots
   * than this. Entered inside the key's slot: a key's batch still waits behind its own calls.
   */
  private readonly callsPerUser: KeyedGate;
  /** tools/list per policy object (one per verified key): built once, not per request. */
  private readonly definitionsOfPolicy = new WeakMap<KeyPolicy, Tool[]>();
  /**
   * Lone calls the door admitted, by their request's auth (the SDK hands that same object to the
   * tools/call handler, also for a legacy SSE session's post): the handler takes its admission.
   */
  private readonly admittedAtDoor = new WeakMap<AuthInfo, MeteredCall>();

  constructor(
    private readonly registry: ToolRegistry,
    private readonly tools: ToolCallHandler,
    private readonly usage: UsageInterceptor,
    private readonly metering: MeteringService,
    private readonly metrics: GatewayMetrics,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    const perUser = config.mcp.concurrentCallsPerUser;
    // A key never runs more than its account may: alone, its batch waits rather than being refused.
    this.callsPerKey = new KeyedGate(Math.min(config.mcp.callsPerKey, perUser), MAX_BATCH_CALLS);
    this.callsPerUser = new KeyedGate(perUser, 0, () => new UserCallsFullError(perUser));
  }

  /** Serves `body`, the message the guard judged; the transport never reads the request itself. */
  async handle(req: McpRequest, res: ServerResponse, body: unknown): Promise<void> {
    assertValidInitialize(body);
    const admitted = await this.admitLoneCall(req, body);
    acceptJsonAndEventStream(req);
    const server = this.newServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      if (admitted) this.endUntaken(req);
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  /**
   * A request that is one tools/call is admitted here, before the SDK sees it, so its refusal is an
   * HTTP status (429 with Retry-After, 403 as the original service answers, 503); calls inside a
   * batch are admitted one by one and get theirs as JSON-RPC errors in the batch's answer. The
   * caller calls endUntaken() once the call can no longer reach its handler.
   */
  async admitLoneCall(req: McpRequest, body: unknown): Promise<MeteredCall | undefined> {
    const call = loneToolCall(body);
    const { auth } = req;
    if (!call || !auth?.extra) return undefined;
    try {
      const admitted = await this.metering.admitCall(auth.extra as KeyOwner, this.registry.get(call.name)?.maxRows ?? 0);
      this.admittedAtDoor.set(auth, admitted);
      return admitted;
    } catch (error) {
      const refusal = this.refusalOf(error);
      if (!refusal) throw error;
      const headers: Record<string, string> = refusal.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(refusal.retryAfterSeconds) };
      throw new JsonRpcHttpException(refusal.status, refusal.message, refusal.code, call.id, headers, refusal.data);
    }
  }

  /** An SDK server with this gateway's handlers, for one request (or one legacy SSE session). */
  newServer(): Server {
    const server = new Server(SERVER_INFO, { capabilities: { tools: { listChanged: false } }, jsonSchemaValidator: SHARED_SCHEMA_VALIDATOR });
    onRequest(server, 'ping', PingRequestSchema, () => ({}));
    onRequest(server, 'tools/list', ListToolsRequestSchema, (_request, extra) => ({ tools: this.definitionsFor((extra.authInfo?.extra as KeyOwner).policy) }));
    server.setRequestHandler(METHOD_SCHEMAS['tools/call'], (request, extra) => this.serveToolCall(request, extra));
    return server;
  }

  private async serveToolCall(request: unknown, extra: Extra): Promise<CallToolResult> {
    // Taken first, so the door's admission is ended whatever becomes of the call.
    const admitted = this.takeDoorAdmission(extra.authInfo);
    try {
      const { name, arguments: args } = validRequest('tools/call', CallToolRequestSchema, request).params;
      // The guard verified a key for every tools/call, so the owner is always present here.
      return await this.callTool(extra.authInfo?.extra as KeyOwner, name, args, admitted);
    } catch (error) {
      const refusal = this.refusalOf(error);
      throw refusal ? protocolError(refusal.code, refusal.message, refusal.data) : error;
    } finally {
      admitted?.end();
    }
  }

  /**
   * Ends the door's admission of this request if no handler took it: the SDK answers some lone
   * calls itself (a task-augmented tools/call, which this server does not support), and a hold
   * never given back would stall the key's quota.
   */
  endUntaken(req: McpRequest): void {
    this.takeDoorAdmission(req.auth)?.end();
  }

  private takeDoorAdmission(auth: AuthInfo | undefined): MeteredCall | undefined {
    const admitted = auth && this.admittedAtDoor.get(auth);
    if (admitted) this.admittedAtDoor.delete(auth);
    return admitted;
  }

  /**
   * Admitted once (rate limit and quotas: the door's admission for a lone call, else here, inside
   * the key's and user's gates), then the key's scope: a call outside it is a tool error, recorded
   * like any other call. The result carries what was metered.
   */
  private async callTool(owner: KeyOwner, name: string, args: Record<string, unknown> | undefined, admittedAtDoor: MeteredCall | undefined): Promise<CallToolResult> {
    const tool = this.registry.get(name);
    const { outcome, admitted } = await this.callsPerKey.run(owner.keyId, () =>
      this.callsPerUser.run(owner.userId, async () => {
        // A lone call was admitted at the door; a call of a batch is admitted here, right before it runs.
        const call = admittedAtDoor ?? (await this.metering.admitCall(owner, tool?.maxRows ?? 0));
        try {
          const result = await this.usage.intercept(owner, name, args, () => this.runInScope(owner, tool, name, args, call), (record) => call.settle(record));
          return { outcome: result, admitted: call };
        } finally {
          call.end();
        }
      }),
    );
    if (outcome.unknownTool) throw protocolError(ErrorCode.InvalidParams, outcome.errorMessage ?? 'Unknown tool');
    return withMeteredUsage(outcome, admitted.quotasAfter(outcome.recordCount), quotaCut(tool, admitted, outcome));
  }

  private runInScope(owner: KeyOwner, tool: StockTool | undefined, name: string, args: unknown, call: MeteredCall): Promise<ToolCallOutcome> {
    const refusal = tool && scopeRefusal(owner.policy, tool);
    if (refusal) return Promise.resolve(this.tools.refuse(name, refusal));
    return this.tools.call(name, args, { maxRows: call.maxRows, refuseTable: (table) => tableScopeRefusal(owner.policy, name, table) });
  }

  /** How a call refused before it ran is answered (an HTTP status at the door, a JSON-RPC error in a batch); undefined for other errors. */
  private refusalOf(error: unknown): Refusal | undefined {
    if (error instanceof RateLimitedError) {
      this.metrics.rateLimitRefusals.inc();
      return { status: 429, code: JSON_RPC_RATE_LIMITED, message: error.message, data: error.data, retryAfterSeconds: error.retryAfterSeconds };
    }
    if (error instanceof QuotaExhaustedError) {
      this.metrics.quotaRefusals.inc({ quota: error.state.quota, scope: error.state.scope });
      return { status: 403, code: JSON_RPC_QUOTA_EXHAUSTED, message: error.message, data: error.data };
    }
    // Refused while too many of its key's or user's calls run: it never ran, so it is not recorded.
    if (error instanceof GateFullError) return this.tooManyAtOnce('key', 'Too many calls of this API key at once; retry shortly');
    if (error instanceof UserCallsFullError) return this.tooManyAtOnce('user', error.message);
    if (error instanceof UsageUnavailableError) return { status: 503, code: JSON_RPC_UNAVAILABLE, message: error.message, retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS };
    if (error instanceof StoreUnavailableError) {
      return { status: 503, code: JSON_RPC_UNAVAILABLE, message: 'Usage quotas cannot be checked right now; try again shortly', retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS };
    }
    return undefined;
  }

  private tooManyAtOnce(scope: 'key' | 'user', message: string): Refusal {
    this.metrics.concurrencyRefusals.inc({ scope });
    return { status: 429, code: JSON_RPC_RATE_LIMITED, message, retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS };
  }

  private definitionsFor(policy: KeyPolicy): Tool[] {
    if (policy.tools.length === 0 && policy.tables.length === 0) return this.registry.definitions;
    let definitions = this.definitionsOfPolicy.get(policy);
    if (!definitions) {
      definitions = this.registry.definitions.filter((definition) => {
        const tool = this.registry.get(definition.name);
        return tool !== undefined && scopeRefusal(policy, tool) === undefined;
      });
      this.definitionsOfPolicy.set(policy, definitions);
    }
    return definitions;
  }
}

/** One call more than MCP_CONCURRENT_CALLS_PER_USER: the user's other calls hold every slot. */
class UserCallsFullError extends Error {
  constructor(limit: number) {
    super(`Too many calls of this account at once (at most ${limit}, all its API keys together); retry shortly`);
    this.name = 'UserCallsFullError';
  }
}

/** Whether what was left of a record quota, not the tool's own cap, cut the result short. */
function quotaCut(tool: StockTool | undefined, call: MeteredCall, outcome: ToolCallOutcome): boolean {
  const truncated = (outcome.result.structuredContent as { truncated?: unknown } | undefined)?.truncated === true;
  return tool !== undefined && call.maxRows !== undefined && call.maxRows < tool.maxRows && truncated && outcome.recordCount === call.maxRows;
}

/**
 * What was metered and what is left, in the result's _meta (MCP's place for it) and, for clients of
 * the original service, in its `_usage {record_count, quota_remaining}` (quota_remaining: what is
 * left of the tightest record quota, present only when one applies).
 */
function withMeteredUsage(outcome: ToolCallOutcome, quotas: QuotaState[], limitedByQuota: boolean): CallToolResult {
  const recordQuotas = quotas.filter((quota) => quota.quota !== 'calls_per_day');
  const quotaRemaining = recordQuotas.length > 0 ? Math.min(...recordQuotas.map((quota) => quota.remaining)) : undefined;
  return {
    ...outcome.result,
    _meta: { ...outcome.result._meta, usage: { table: outcome.table, record_count: outcome.recordCount, limited_by_quota: limitedByQuota, cached: outcome.cached, quotas } },
    _usage: { record_count: outcome.recordCount, ...(quotaRemaining === undefined ? {} : { quota_remaining: quotaRemaining }) },
  };
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

type GatewayMethod = 'ping' | 'tools/list' | 'tools/call';
/**
 * What the SDK routes each handler by, built once: zod compiles an object schema on its first
 * parse, which with a fresh Server per request would be paid on every call.
 */
const METHOD_SCHEMAS = {
  ping: z.looseObject({ method: z.literal('ping') }),
  'tools/list': z.looseObject({ method: z.literal('tools/list') }),
  'tools/call': z.looseObject({ method: z.literal('tools/call') }),
} satisfies Record<GatewayMethod, z.ZodType>;

/**
 * Registers a handler whose request is validated by validRequest: the SDK routes by method only.
 */
function onRequest<Schema extends z.ZodType>(server: Server, method: GatewayMethod, schema: Schema, handler: (request: z.output<Schema>, extra: Extra) => unknown): void {
  server.setRequestHandler(METHOD_SCHEMAS[method], (request, extra) => handler(validRequest(method, schema, request), extra) as never);
}

/**
 * The SDK parses a request's params before any handler runs and reports a mismatch as -32603
 * "internal error"; invalid params are the caller's mistake, -32602, with zod's account of what is
 * wrong.
 */
function validRequest<Schema extends z.ZodType>(method: GatewayMethod, schema: Schema, request: unknown): z.output<Schema> {
  const parsed = schema.safeParse(request);
  if (!parsed.success) throw protocolError(ErrorCode.InvalidParams, `Invalid ${method} request: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
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
function protocolError(code: number, message: string, data?: unknown): Error & { code: number } {
  return Object.assign(new Error(message), { code, ...(data === undefined ? {} : { data }) });
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
