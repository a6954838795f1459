import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { type JSONRPCMessage, JSONRPCMessageSchema, type MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import type { ServerResponse } from 'node:http';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { KeyOwner, McpRequest } from './api-key.guard.js';
import { JSON_RPC_FORBIDDEN, JSON_RPC_INVALID_REQUEST, JSON_RPC_RATE_LIMITED, JSON_RPC_TRANSPORT_ERROR, JsonRpcHttpException } from './json-rpc-error.js';
import { McpGatewayService } from './mcp-gateway.service.js';
import { firstRequest } from './mcp-request.js';
import { SessionActivity } from './session-activity.js';

/** Where legacy clients open their stream, and where they post (with ?sessionId=). */
export const LEGACY_SSE_PATH = '/sse';

interface Session {
  transport: WatchedSseTransport;
  server: Server;
  owner: KeyOwner;
  /** The client address that opened it (as TRUST_PROXY reads it). */
  address: string;
  activity: SessionActivity;
}

/** Open sessions grouped by who holds them (a user, a client address), for the cap on each. */
class SessionGroups {
  private readonly groups = new Map<string, Set<Session>>();

  of(holder: string): ReadonlySet<Session> {
    return this.groups.get(holder) ?? new Set();
  }

  add(holder: string, session: Session): void {
    this.groups.set(holder, (this.groups.get(holder) ?? new Set()).add(session));
  }

  delete(holder: string, session: Session): void {
    const group = this.groups.get(holder);
    group?.delete(session);
    if (group?.size === 0) this.groups.delete(holder);
  }
}

/** A cap on the sessions of one holder, as its 429 names it. */
interface SessionCap {
  holder: string;
  limit: number;
  /** The JSON-RPC error data member naming the cap. */
  dataName: string;
}

/** The SDK's SSE transport, telling the session's activity what its client sent and what was answered. */
class WatchedSseTransport extends SSEServerTransport {
  constructor(
    res: ServerResponse,
    private readonly activity: SessionActivity,
  ) {
    super('/messages', res);
  }

  // Seen before the SDK gets it: the SDK may answer (an unknown method) before this call returns.
  override handleMessage(message: unknown, extra?: MessageExtraInfo): Promise<void> {
    this.activity.received(message);
    return super.handleMessage(message, extra);
  }

  override send(message: JSONRPCMessage): Promise<void> {
    this.activity.sent(message);
    return super.send(message);
  }
}

/**
 * The 2024-11-05 HTTP+SSE transport the original service also served, for clients that speak
 * only it: GET /sse opens a stream (its key is checked), then POST /messages?sessionId=… carries
 * each message (its key is checked again, and must be the stream's, whatever the message) and is
 * answered 202, the response going down the stream. One user holds at most
 * MCP_LEGACY_SSE_SESSIONS_PER_USER sessions and one client address at most
 * MCP_LEGACY_SSE_SESSIONS_PER_ADDRESS (accounts are free, so the user cap alone would let a few
 * addresses fill the instance); one idle for MCP_LEGACY_SSE_IDLE_SECONDS is closed.
 * Sessions live in this instance: behind a load balancer such clients need sticky routing.
 * Stateless streamable HTTP (POST /messages) needs none.
 */
@Injectable()
export class LegacySseService {
  private readonly logger = new Logger(LegacySseService.name);
  private readonly sessions = new Map<string, Session>();
  private readonly sessionsOfUser = new SessionGroups();
  private readonly sessionsOfAddress = new SessionGroups();

  constructor(
    private readonly gateway: McpGatewayService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** GET /sse from the client at `address`, its key already verified (req.auth). */
  async open(req: McpRequest, res: ServerResponse, address: string): Promise<void> {
    const owner = req.auth?.extra as KeyOwner;
    const { legacySseSessionsPerUser, legacySseSessionsPerAddress } = this.config.mcp;
    this.assertRoom(this.sessionsOfUser.of(owner.userId), { holder: 'This account', limit: legacySseSessionsPerUser, dataName: 'sessions_per_user' });
    this.assertRoom(this.sessionsOfAddress.of(address), { holder: 'This client address', limit: legacySseSessionsPerAddress, dataName: 'sessions_per_address' });
    if (this.sessions.size >= this.config.mcp.legacySseMaxSessions) {
      throw new JsonRpcHttpException(503, 'Too many SSE sessions open on this instance; use streamable HTTP (POST /messages) or retry later', JSON_RPC_RATE_LIMITED, null, { 'Retry-After': '5' });
    }
    const idleSeconds = this.config.mcp.legacySseIdleSeconds;
    const activity = new SessionActivity(idleSeconds * 1000, () => {
      this.logger.debug({ keyId: owner.keyId, idleSeconds }, 'legacy SSE session closed: idle');
      // Forgotten before its stream ends (closing the server closes it): a post arriving meanwhile gets
      // our 404, not the SDK's 500 for a transport without its stream.
      this.forget(transport.sessionId, session);
    });
    const transport = new WatchedSseTransport(res, activity);
    const session: Session = { transport, server: this.gateway.newServer(), owner, address, activity };
    this.sessions.set(transport.sessionId, session);
    this.sessionsOfUser.add(owner.userId, session);
    this.sessionsOfAddress.add(address, session);
    res.on('close', () => this.forget(transport.sessionId, session));
    await session.server.connect(transport);
    this.logger.debug({ keyId: owner.keyId, sessions: this.sessions.size }, 'legacy SSE session opened');
  }

  /**
   * POST /messages?sessionId=…, its body read and its key verified already: whatever the message
   * (initialize, notifications/cancelled, a response), only the stream's own key may post it.
   */
  async post(req: McpRequest, res: ServerResponse, sessionId: string, body: unknown): Promise<void> {
    const id = firstRequest(body)?.id ?? null;
    const session = this.sessions.get(sessionId);
    if (!session) throw new JsonRpcHttpException(404, 'Unknown or closed SSE session; open a new one with GET /sse', JSON_RPC_TRANSPORT_ERROR, id);
    const owner = req.auth?.extra as KeyOwner;
    if (owner.keyId !== session.owner.keyId) throw new JsonRpcHttpException(403, 'This SSE session belongs to another API key', JSON_RPC_FORBIDDEN, id);
    assertOneMessage(body);
    session.activity.posted();
    const admitted = await this.gateway.admitLoneCall(req, body);
    try {
      await session.transport.handlePostMessage(req, res, body);
    } finally {
      // The SDK starts a message's handler in the microtasks that follow its dispatch: by the next
      // turn of the event loop the handler took the admission, or it never will.
      if (admitted) setImmediate(() => this.gateway.endUntaken(req));
    }
  }

  /** Ends every stream (at shutdown: otherwise they would hold the listener open until the grace period ends). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((session) => session.transport.close()));
  }

  /** A 429 when the holder's sessions fill its cap: Retry-After is when its first session would close if left idle. */
  private assertRoom(open: ReadonlySet<Session>, cap: SessionCap): void {
    if (open.size < cap.limit) return;
    const idleSeconds = this.config.mcp.legacySseIdleSeconds;
    const retryAfter = Math.min(idleSeconds, ...[...open].map((session) => session.activity.secondsUntilIdle() ?? idleSeconds));
    const message = `${cap.holder} already has ${cap.limit} legacy SSE sessions open, the most it may; close one (end its GET /sse stream), or leave one idle for ${idleSeconds} s, or use streamable HTTP (POST /messages)`;
    throw new JsonRpcHttpException(429, message, JSON_RPC_RATE_LIMITED, null, { 'Retry-After': String(retryAfter) }, { [cap.dataName]: cap.limit, idle_seconds: idleSeconds });
  }

  /** Once per session: on idle, and when its stream closes. */
  private forget(sessionId: string, session: Session): void {
    if (this.sessions.get(sessionId) !== session) return;
    session.activity.stop();
    this.sessions.delete(sessionId);
    this.sessionsOfUser.delete(session.owner.userId, session);
    this.sessionsOfAddress.delete(session.address, session);
    void session.server.close();
  }
}

/**
 * A session's POST carries one JSON-RPC message, judged here by the schema the SDK's transport
 * applies: handed a body it refuses (null, a batch, {}), the transport answers a text/plain 400
 * that names its internals. The 2024-11-05 SSE transport never took batches (the SDK's does not),
 * so an array is refused rather than split: its messages would each need admitting.
 */
function assertOneMessage(body: unknown): void {
  if (Array.isArray(body)) {
    throw new JsonRpcHttpException(400, 'Invalid Request: a legacy SSE session takes one JSON-RPC message per POST, not a batch (an array); post each message on its own, or use streamable HTTP (POST /messages without sessionId), which takes batches', JSON_RPC_INVALID_REQUEST);
  }
  if (!JSONRPCMessageSchema.safeParse(body).success) {
    throw new JsonRpcHttpException(400, 'Invalid Request: the body is not a JSON-RPC 2.0 message (a request, notification or response object with "jsonrpc": "2.0")', JSON_RPC_INVALID_REQUEST);
  }
}
