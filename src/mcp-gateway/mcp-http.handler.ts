import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { isJsonContentType } from '@modelcontextprotocol/sdk/shared/mediaType.js';
import contentType from 'content-type';
import { clientAddress } from '../common/client-address.js';
import { echo } from '../common/echo.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ApiKeyGuard, type McpRequest } from './api-key.guard.js';
import {
  HeldRefusal,
  JSON_RPC_INTERNAL_ERROR,
  JSON_RPC_INVALID_REQUEST,
  JSON_RPC_TRANSPORT_ERROR,
  JsonRpcHttpException,
  writeJsonRpcError,
} from './json-rpc-error.js';
import { repeatedRequestId } from './mcp-request.js';
import { LEGACY_SSE_PATH, LegacySseService } from './legacy-sse.service.js';
import { McpGatewayService } from './mcp-gateway.service.js';
import { readJsonBody } from './request-body.js';
import { MCP_ENDPOINT_PATH, PROTECTED_RESOURCE_METADATA_PATH, PublicUrls } from '../mcp-oauth/public-urls.js';
import { PlatformUsageService, USAGE_SUMMARY_PATH } from '../platform-tokens/platform-usage.service.js';

/**
 * The MCP port's single door: every request on MCP_PORT arrives here, straight from node:http.
 * POST with a JSON content type (decided by the SDK's own media-type parser, so the transport
 * later reaches the same verdict) → size-limited read → parse → key guard → SDK, which gets the
 * very message the guard judged. Other methods are 405, other media types 415, other paths 404.
 * There is no second route (no Express, no Swagger) on this port for a request to slip through.
 */
@Injectable()
export class McpHttpHandler {
  private readonly logger = new Logger(McpHttpHandler.name);

  constructor(
    private readonly guard: ApiKeyGuard,
    private readonly gateway: McpGatewayService,
    private readonly legacySse: LegacySseService,
    private readonly urls: PublicUrls,
    private readonly platformUsage: PlatformUsageService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async handle(req: McpRequest, res: ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    try {
      const target = parseTarget(req.url ?? '');
      if (this.config.oauth.enabled && isResourceMetadataPath(target.pathname)) return this.sendResourceMetadata(req, res);
      // Before the key throttle: strangers' bad keys from a shared address must not hold up the platform's reconciliation.
      if (target.pathname === USAGE_SUMMARY_PATH && this.platformUsage.served) return await this.sendUsageSummary(req, res, target.searchParams);
      const route = routeOf(req, target, this.config.mcp.legacySseMaxSessions > 0);
      const address = clientAddress(req, this.config.http.trustProxy);
      const early = this.guard.earlyRefusal(address, req.headers.authorization);
      if (early) throw early;
      if (route.stream) {
        await this.guard.authorizeStream(req, address);
        return await this.legacySse.open(req, res, address);
      }
      const body = await readJsonBody(req, this.config.http.bodyLimitBytes);
      assertUniqueIds(body);
      if (route.sessionId !== null) {
        await this.guard.authorizeSessionMessage(req, body, address);
        await this.legacySse.post(req, res, route.sessionId, body);
      } else {
        await this.guard.authorize(req, body, address);
        await this.gateway.handle(req, res, body);
      }
    } catch (error) {
      if (error instanceof HeldRefusal && error.holdMs > 0) this.refuseLater(req, res, error);
      else this.refuse(req, res, error);
    }
  }

  /** Public, like any OAuth metadata: readable from any origin (browser-based MCP clients). */
  private sendResourceMetadata(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET', 'Access-Control-Allow-Headers': '*' }).end();
      return;
    }
    if (req.method !== 'GET') throw new JsonRpcHttpException(405, 'Method not allowed: read the metadata with GET', JSON_RPC_TRANSPORT_ERROR, null, { Allow: 'GET' });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(this.urls.resourceMetadata(req)));
  }

  /** The original's usage report for the management platform (PlatformUsageService), in its shapes. */
  private async sendUsageSummary(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const { status, body } = await this.platformUsage.answer(req.method, req.headers, query);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...(status === 405 ? { Allow: 'GET' } : {}) }).end(JSON.stringify(body));
  }

  /** See HeldRefusal; a stop cuts held requests short with their connections. */
  private refuseLater(req: IncomingMessage, res: ServerResponse, refusal: HeldRefusal): void {
    const timer = setTimeout(() => this.refuse(req, res, refusal), refusal.holdMs);
    res.once('close', () => clearTimeout(timer));
  }

  private refuse(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    if (error instanceof JsonRpcHttpException) {
      // Debug only: a client that sends thousands of bad requests must not make us write thousands
      // of log lines (the key guard logs once when it starts throttling an address).
      this.logger.debug({ status: error.status, detail: error.message, ip: req.socket.remoteAddress }, 'MCP request refused');
      return writeJsonRpcError(res, error);
    }
    if (req.destroyed) return; // the client left mid-request: nobody to answer
    this.logger.error({ err: error }, 'MCP request failed');
    writeJsonRpcError(res, new JsonRpcHttpException(500, 'Internal error', JSON_RPC_INTERNAL_ERROR));
  }
}

/**
 * What a request asks for: POST /messages (a legacy SSE session's message when it names a
 * sessionId), or GET /sse (a legacy stream, when that transport is on). Anything else is refused.
 */
function routeOf(req: IncomingMessage, target: RequestTarget, legacySse: boolean): { stream: boolean; sessionId: string | null } {
  if (legacySse && target.pathname === LEGACY_SSE_PATH) {
    if (req.method !== 'GET') throw new JsonRpcHttpException(405, `Method not allowed: open the legacy SSE stream with GET ${LEGACY_SSE_PATH}`, JSON_RPC_TRANSPORT_ERROR, null, { Allow: 'GET' });
    return { stream: true, sessionId: null };
  }
  if (target.pathname !== MCP_ENDPOINT_PATH) {
    throw new JsonRpcHttpException(404, `Not found: ${echo(target.pathname)}; the MCP endpoint is POST ${MCP_ENDPOINT_PATH}`, JSON_RPC_TRANSPORT_ERROR);
  }
  if (req.method !== 'POST') {
    // Stateless server: no standalone SSE stream to GET and no session to DELETE.
    throw new JsonRpcHttpException(405, 'Method not allowed: send JSON-RPC messages with POST', JSON_RPC_TRANSPORT_ERROR, null, { Allow: 'POST' });
  }
  const type = req.headers['content-type'];
  if (!isJsonContentType(type) || !isUtf8(type)) {
    throw new JsonRpcHttpException(415, 'Unsupported Media Type: Content-Type must be application/json (UTF-8)', JSON_RPC_TRANSPORT_ERROR);
  }
  return { stream: false, sessionId: legacySse ? target.searchParams.get('sessionId') : null };
}

/** RFC 9728's well-known path, bare or followed by the MCP endpoint's public path (clients probe both; a proxy may add a prefix). */
function isResourceMetadataPath(pathname: string): boolean {
  return pathname === PROTECTED_RESOURCE_METADATA_PATH || pathname.startsWith(`${PROTECTED_RESOURCE_METADATA_PATH}/`);
}

function assertUniqueIds(body: unknown): void {
  const repeated = repeatedRequestId(body);
  if (repeated !== undefined) {
    throw new JsonRpcHttpException(400, `Invalid Request: the id ${typeof repeated === 'number' ? repeated : echo(repeated)} is used by more than one request of the batch`, JSON_RPC_INVALID_REQUEST);
  }
}

interface RequestTarget {
  pathname: string;
  searchParams: URLSearchParams;
}

/** The path and query of an origin-form or absolute-form request target (the raw target when it does not parse). */
function parseTarget(target: string): RequestTarget {
  try {
    return new URL(target, 'http://mcp.invalid');
  } catch {
    return { pathname: target, searchParams: new URLSearchParams() };
  }
}

/** JSON is UTF-8 (RFC 8259); a body declared in another charset would be read wrongly. */
function isUtf8(type: string | undefined): boolean {
  try {
    const charset = contentType.parse(type ?? '').parameters.charset;
    return charset === undefined || charset.toLowerCase() === 'utf-8' || charset.toLowerCase() === 'utf8';
  } catch {
    // The SDK's parser accepted a sloppy parameter section; no readable charset means the default.
    return true;
  }
}
