import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import type { ServerResponse } from 'node:http';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { KeyOwner, McpRequest } from './api-key.guard.js';
import { JSON_RPC_FORBIDDEN, JSON_RPC_RATE_LIMITED, JSON_RPC_TRANSPORT_ERROR, JsonRpcHttpException } from './json-rpc-error.js';
import { McpGatewayService } from './mcp-gateway.service.js';

/** Where legacy clients open their stream, and where they post (with ?sessionId=). */
export const LEGACY_SSE_PATH = '/sse';

interface Session {
  transport: SSEServerTransport;
  server: Server;
  keyId: string;
}

/**
 * The 2024-11-05 HTTP+SSE transport the original service also served, for clients that speak
 * only it: GET /sse opens a stream (its key is checked), then POST /messages?sessionId=… carries
 * each message (its key is checked again, and must be the stream's) and is answered 202, the
 * response going down the stream. Sessions live in this instance: behind a load balancer such
 * clients need sticky routing. Stateless streamable HTTP (POST /messages) needs none.
 */
@Injectable()
export class LegacySseService {
  private readonly logger = new Logger(LegacySseService.name);
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly gateway: McpGatewayService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** GET /sse, its key already verified (req.auth). */
  async open(req: McpRequest, res: ServerResponse): Promise<void> {
    const owner = req.auth?.extra as KeyOwner;
    if (this.sessions.size >= this.config.mcp.legacySseMaxSessions) {
      throw new JsonRpcHttpException(503, 'Too many SSE sessions open on this instance; use streamable HTTP (POST /messages) or retry later', JSON_RPC_RATE_LIMITED, null, { 'Retry-After': '5' });
    }
    const transport = new SSEServerTransport('/messages', res);
    const server = this.gateway.newServer();
    this.sessions.set(transport.sessionId, { transport, server, keyId: owner.keyId });
    res.on('close', () => {
      this.sessions.delete(transport.sessionId);
      void server.close();
    });
    await server.connect(transport);
    this.logger.debug({ keyId: owner.keyId, sessions: this.sessions.size }, 'legacy SSE session opened');
  }

  /** POST /messages?sessionId=…, its body read and judged by the key guard already. */
  async post(req: McpRequest, res: ServerResponse, sessionId: string, body: unknown): Promise<void> {
    const session = this.sessions.get(sessionId);
    if (!session) throw new JsonRpcHttpException(404, 'Unknown or closed SSE session; open a new one with GET /sse', JSON_RPC_TRANSPORT_ERROR);
    const owner = req.auth?.extra as KeyOwner | undefined;
    if (owner && owner.keyId !== session.keyId) throw new JsonRpcHttpException(403, 'This SSE session belongs to another API key', JSON_RPC_FORBIDDEN);
    await this.gateway.admitLoneCall(req, body);
    await session.transport.handlePostMessage(req, res, body);
  }

  /** Ends every stream (at shutdown: otherwise they would hold the listener open until the grace period ends). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((session) => session.transport.close()));
  }
}
