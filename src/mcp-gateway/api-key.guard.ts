import { type CanActivate, type ExecutionContext, HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { IncomingMessage } from 'node:http';
import { JSON_RPC_FORBIDDEN, JSON_RPC_UNAVAILABLE, JSON_RPC_UNAUTHORIZED, JsonRpcHttpException } from '../common/json-rpc-http.exception.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ApiKeyVerifier, type VerifiedKey } from '../mcp-keys/api-key-verifier.js';
import { LastUsedTracker } from '../mcp-keys/last-used-tracker.js';
import { bearerToken, firstRequestNeedingKey } from './mcp-request.js';

/** A request to /messages: its parsed JSON body, and the verified key once the guard passed it. */
export type McpRequest = IncomingMessage & { body?: unknown; auth?: AuthInfo };

/** The verified key owner, as tool handlers read it from extra.authInfo.extra. */
export type KeyOwner = Pick<VerifiedKey, 'keyId' | 'userId'>;

/**
 * Guards /messages: Origin/Host checks against DNS rebinding, then the API key rule — initialize
 * and notifications pass; every other request needs a valid key, also inside a batch.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly logger = new Logger(ApiKeyGuard.name);

  constructor(
    private readonly verifier: ApiKeyVerifier,
    private readonly lastUsed: LastUsedTracker,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  canActivate(context: ExecutionContext): Promise<boolean> {
    return this.authorize(context.switchToHttp().getRequest<McpRequest>());
  }

  /** Throws JsonRpcHttpException (401/403/503) unless the request may go on; sets req.auth. */
  async authorize(req: McpRequest): Promise<boolean> {
    this.assertAllowedOrigin(req);
    const request = firstRequestNeedingKey(req.body);
    if (!request) return true;
    const id = request.id ?? null;
    const token = bearerToken(req.headers.authorization);
    if (!token) throw new JsonRpcHttpException(HttpStatus.UNAUTHORIZED, 'API key required', JSON_RPC_UNAUTHORIZED, id);
    const key = await this.verifier.verify(token).catch((error: unknown) => {
      this.logger.error({ err: error }, 'API key verification failed: ClickHouse did not answer');
      throw new JsonRpcHttpException(HttpStatus.SERVICE_UNAVAILABLE, 'API key verification is unavailable; try again shortly', JSON_RPC_UNAVAILABLE, id);
    });
    if (!key) throw new JsonRpcHttpException(HttpStatus.UNAUTHORIZED, 'Invalid or expired API key', JSON_RPC_UNAUTHORIZED, id);
    const owner: KeyOwner = { keyId: key.keyId, userId: key.userId };
    req.auth = { token, clientId: key.keyId, scopes: [], ...(key.expiresAt ? { expiresAt: Math.floor(key.expiresAt.getTime() / 1000) } : {}), extra: owner };
    this.lastUsed.touch(key.keyId);
    return true;
  }

  private assertAllowedOrigin(req: IncomingMessage): void {
    const { allowedOrigins, allowedHosts } = this.config.mcp;
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins.some((allowed) => sameOriginIgnoringPort(origin, allowed))) {
      throw new JsonRpcHttpException(HttpStatus.FORBIDDEN, `Origin ${origin} is not allowed`, JSON_RPC_FORBIDDEN);
    }
    const host = (req.headers.host ?? '').toLowerCase();
    if (allowedHosts.length > 0 && !allowedHosts.includes(host) && !allowedHosts.includes(host.replace(/:\d+$/, ''))) {
      throw new JsonRpcHttpException(HttpStatus.FORBIDDEN, `Host ${host} is not allowed`, JSON_RPC_FORBIDDEN);
    }
  }
}

/** `http://localhost` in the allow-list admits http://localhost on any port. */
function sameOriginIgnoringPort(origin: string, allowed: string): boolean {
  try {
    const a = new URL(origin);
    const b = new URL(allowed);
    return a.protocol === b.protocol && a.hostname === b.hostname && (b.port === '' || a.port === b.port);
  } catch {
    return false;
  }
}
