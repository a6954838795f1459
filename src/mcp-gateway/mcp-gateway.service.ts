import { Injectable } from '@nestjs/common';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { ServerResponse } from 'node:http';
import { JSON_RPC_UNAVAILABLE } from '../common/json-rpc-http.exception.js';
import { UsageInterceptor, UsageUnavailableError } from '../mcp-usage/usage.interceptor.js';
import type { KeyOwner, McpRequest } from './api-key.guard.js';
import { ToolCallHandler } from './tool-call.handler.js';
import { ToolRegistry } from './tool-registry.js';

const SERVER_INFO = { name: 'stock-data', version: '1.0.0' };
/**
 * Every SDK Server builds an Ajv instance unless given a validator; with one Server per request
 * that cost about half a millisecond of CPU per call (see bench/README.md), so all share one.
 */
const SHARED_SCHEMA_VALIDATOR = new AjvJsonSchemaValidator();
const ACCEPT_BOTH = 'application/json, text/event-stream';

/**
 * Serves one POST /messages. Stateless: a fresh SDK Server and transport per request, closed with
 * the response, so no state is shared between clients (GHSA-345p-7cg4-v4c7) and any instance
 * behind a load balancer can answer any request.
 */
@Injectable()
export class McpGatewayService {
  constructor(
    private readonly registry: ToolRegistry,
    private readonly tools: ToolCallHandler,
    private readonly usage: UsageInterceptor,
  ) {}

  async handle(req: McpRequest, res: ServerResponse): Promise<void> {
    acceptJsonAndEventStream(req);
    const server = this.createServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  }

  private createServer(): Server {
    const server = new Server(SERVER_INFO, { capabilities: { tools: { listChanged: false } }, jsonSchemaValidator: SHARED_SCHEMA_VALIDATOR });
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: this.registry.definitions }));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const { name, arguments: args } = request.params;
      // The guard verified a key for every tools/call, so the owner is always present here.
      const owner = extra.authInfo?.extra as KeyOwner;
      try {
        const outcome = await this.usage.intercept(owner, name, args, () => this.tools.call(name, args));
        if (outcome.unknownTool) throw new McpError(ErrorCode.InvalidParams, outcome.errorMessage ?? 'Unknown tool');
        return outcome.result;
      } catch (error) {
        if (error instanceof UsageUnavailableError) throw new McpError(JSON_RPC_UNAVAILABLE, error.message);
        throw error;
      }
    });
    return server;
  }
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
