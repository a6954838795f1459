import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { IncomingMessage } from 'node:http';
import { StoreUnavailableError } from '../clickhouse/clickhouse-errors.js';
import { GateFullError } from '../common/bounded-gate.js';
import { echo } from '../common/echo.js';
import { FailureCounter } from '../common/failure-counter.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ApiKeyVerifier, type VerifiedKey } from '../mcp-keys/api-key-verifier.js';
import { LastUsedTracker } from '../mcp-keys/last-used-tracker.js';
import { type MeteredKey, MeteringService } from '../mcp-metering/metering.service.js';
import { PublicUrls } from '../mcp-oauth/public-urls.js';
import {
  JSON_RPC_FORBIDDEN,
  JSON_RPC_RATE_LIMITED,
  JSON_RPC_UNAUTHORIZED,
  JSON_RPC_UNAVAILABLE,
  HeldRefusal,
  type JsonRpcId,
  JsonRpcHttpException,
} from './json-rpc-error.js';
import { GatewayMetrics } from './gateway.metrics.js';
import { bearerToken, firstRequest, firstRequestNeedingKey } from './mcp-request.js';

/** A request to /messages, with the verified key once the guard passed it (the SDK's authInfo). */
export type McpRequest = IncomingMessage & { auth?: AuthInfo };

/**
 * The verified key, as tool handlers read it from extra.authInfo.extra; one per HTTP request.
 * `packRecords` for a platform token's query pack.
 */
export type KeyOwner = Pick<VerifiedKey, 'keyId' | 'userId' | 'policy'> & Pick<MeteredKey, 'packRecords'>;

/** How long a client should wait when key verification cannot reach the database. */
const VERIFY_RETRY_AFTER_SECONDS = 5;
/** Also how long a "busy" answer is held: a botnet's sockets then wait as long as they are told to. */
const BUSY_RETRY_AFTER_SECONDS = 1;

/**
 * Judges every message the SDK will execute: Origin/Host checks against DNS rebinding, then the
 * API key rule — on the stateless endpoint initialize and notifications pass and every other
 * request needs a valid key, also inside a batch; a legacy SSE session's messages all need one.
 * Keys that fail verification are counted per client address: past
 * MCP_AUTH_FAILURE_LIMIT in a window the address gets 429 for anything but a key known to be
 * valid (judged before its body is read, and held before it is answered), so guessing costs the
 * database nothing and valid callers are untouched. Lookups of uncached keys from
 * everyone together are capped too (MCP_KEY_LOOKUP_CONCURRENCY), for strangers spread over many
 * addresses.
 */
@Injectable()
export class ApiKeyGuard {
  private readonly logger = new Logger(ApiKeyGuard.name);
  private readonly failures: FailureCounter;

  constructor(
    private readonly verifier: ApiKeyVerifier,
    private readonly lastUsed: LastUsedTracker,
    private readonly metering: MeteringService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: GatewayMetrics,
    private readonly urls: PublicUrls,
  ) {
    this.failures = new FailureCounter(config.mcp.authFailureLimit, config.mcp.authFailureWindowSeconds * 1000);
  }

  /** Throws JsonRpcHttpException (401/403/429/503) unless the body may be executed; sets req.auth. */
  async authorize(req: McpRequest, body: unknown, address: string): Promise<void> {
    this.assertAllowedOrigin(req);
    const request = firstRequestNeedingKey(body);
    if (request) await this.requireKey(req, request.id ?? null, address);
  }

  /**
   * For POST /messages?sessionId=…: every message needs a valid key, initialize, notifications and
   * responses too. The session belongs to a key, and such messages act on it: a stranger's
   * notifications/cancelled would cancel its calls, an initialize's answer would go down its stream.
   */
  async authorizeSessionMessage(req: McpRequest, body: unknown, address: string): Promise<void> {
    this.assertAllowedOrigin(req);
    await this.requireKey(req, firstRequest(body)?.id ?? null, address);
  }

  /** For GET /sse: a legacy SSE stream is opened only with a valid key. */
  async authorizeStream(req: McpRequest, address: string): Promise<void> {
    this.assertAllowedOrigin(req);
    await this.requireKey(req, null, address);
  }

  private async requireKey(req: McpRequest, id: JsonRpcId, address: string): Promise<void> {
    const token = bearerToken(req.headers.authorization);
    if (!token) {
      this.metrics.refuseKey('missing_key');
      throw new JsonRpcHttpException(401, 'API key required', JSON_RPC_UNAUTHORIZED, id, { 'WWW-Authenticate': this.challenge(req) });
    }
    const key = this.verifier.cached(token) ?? (await this.verifyThrottled(req, token, address, id));
    // RFC 8707 / the MCP authorization spec: a token issued for another resource is not valid here.
    if (key.audience !== undefined && !this.urls.isMcpResource(key.audience, req)) {
      this.metrics.refuseKey('invalid_key');
      throw new JsonRpcHttpException(401, 'This token was issued for another resource', JSON_RPC_UNAUTHORIZED, id, { 'WWW-Authenticate': this.challenge(req, 'invalid_token') });
    }
    const owner: KeyOwner = { keyId: key.keyId, userId: key.userId, policy: key.policy, ...(key.selfContained?.packRecords === undefined ? {} : { packRecords: key.selfContained.packRecords }) };
    if (this.metering.needsCounts(owner)) await this.countUsage(owner, id);
    req.auth = { token, clientId: key.keyId, scopes: [], ...(key.expiresAt ? { expiresAt: Math.floor(key.expiresAt.getTime() / 1000) } : {}), extra: owner };
    // A platform token has no key row to note its last use in.
    if (!key.selfContained) this.lastUsed.touch(key.keyId);
  }

  /**
   * The 429 for a request from a throttled address that carries no key known to be valid, decided
   * from the headers alone, so such a request costs no body read, no parse and no lookup.
   */
  earlyRefusal(address: string, authorization: string | undefined): HeldRefusal | undefined {
    return this.throttledUnlessKnown(address, bearerToken(authorization), null);
  }

  /**
   * A key valid in the cache, or one that was valid here in the last day: a throttled address (a
   * NAT, or a proxy when TRUST_PROXY is unset) may still check it, so the strangers behind that
   * address cannot lock its real users out; their random keys are never known.
   */
  private isKnownKey(token: string): boolean {
    return this.verifier.isCached(token) || this.verifier.wasRecentlyValid(token);
  }

  /** The held 429 while the address is throttled, unless the request carries a known key (checked only then: it costs a hash). */
  private throttledUnlessKnown(address: string, token: string | undefined, id: JsonRpcId): HeldRefusal | undefined {
    const retryAfter = this.failures.retryAfterSeconds(address);
    if (retryAfter === 0 || (token !== undefined && this.isKnownKey(token))) return undefined;
    this.metrics.refuseKey('throttled');
    // Closing the connection frees its slot; the client's next connection waits like this one.
    const message = `Too many invalid API keys from this address; retry in ${retryAfter} s`;
    return new HeldRefusal(this.config.mcp.throttledHoldMs, 429, message, JSON_RPC_RATE_LIMITED, id, { 'Retry-After': String(retryAfter), Connection: 'close' });
  }

  /**
   * The WWW-Authenticate of a 401 (RFC 6750), naming the protected-resource metadata (RFC 9728)
   * that MCP clients follow to sign in, when sign-in (OAuth) is on.
   */
  private challenge(req: IncomingMessage, error?: 'invalid_token'): string {
    const metadata = this.config.oauth.enabled ? `, resource_metadata="${this.urls.protectedResourceMetadata(req)}"` : '';
    return `Bearer realm="mcp"${error ? `, error="${error}"` : ''}${metadata}`;
  }

  private async verifyThrottled(req: IncomingMessage, token: string, address: string, id: JsonRpcId): Promise<VerifiedKey> {
    const throttled = this.throttledUnlessKnown(address, token, id);
    if (throttled) throw throttled;
    const key = await this.verifier.verify(token).catch((error: unknown) => {
      if (error instanceof GateFullError) {
        this.metrics.refuseKey('busy');
        throw new HeldRefusal(BUSY_RETRY_AFTER_SECONDS * 1000, 503, 'API key verification is busy; try again shortly', JSON_RPC_UNAVAILABLE, id, {
          'Retry-After': String(BUSY_RETRY_AFTER_SECONDS),
        });
      }
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.metrics.refuseKey('unavailable');
      this.logger.warn({ err: error.cause }, 'API key verification failed: the database did not answer');
      throw databaseUnavailable('API key verification is unavailable; try again shortly', id);
    });
    if (key) return key;
    this.failures.recordFailure(address);
    if (this.failures.retryAfterSeconds(address) > 0) {
      this.logger.warn({ address, limit: this.config.mcp.authFailureLimit, windowSeconds: this.config.mcp.authFailureWindowSeconds }, 'too many invalid API keys: throttling this address');
    }
    this.metrics.refuseKey('invalid_key');
    throw new JsonRpcHttpException(401, 'Invalid or expired API key', JSON_RPC_UNAUTHORIZED, id, { 'WWW-Authenticate': this.challenge(req, 'invalid_token') });
  }

  /** A user's quota counters are read once, with their first key verified here; until then no call can be judged. */
  private async countUsage(key: MeteredKey, id: JsonRpcId): Promise<void> {
    await this.metering.countKeyUser(key).catch((error: unknown) => {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.logger.warn({ err: error.cause }, 'quota counters could not be read: the database did not answer');
      throw databaseUnavailable('Usage quotas cannot be checked right now; try again shortly', id);
    });
  }

  private assertAllowedOrigin(req: IncomingMessage): void {
    const { allowedOrigins, allowedHosts } = this.config.mcp;
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins.some((allowed) => sameOriginIgnoringPort(origin, allowed))) {
      throw new JsonRpcHttpException(403, `Origin ${echo(origin)} is not allowed`, JSON_RPC_FORBIDDEN);
    }
    const host = (req.headers.host ?? '').toLowerCase();
    if (allowedHosts.length > 0 && !allowedHosts.includes(host) && !allowedHosts.includes(host.replace(/:\d+$/, ''))) {
      throw new JsonRpcHttpException(403, `Host ${echo(host)} is not allowed`, JSON_RPC_FORBIDDEN);
    }
  }
}

const databaseUnavailable = (message: string, id: JsonRpcId) =>
  new JsonRpcHttpException(503, message, JSON_RPC_UNAVAILABLE, id, { 'Retry-After': String(VERIFY_RETRY_AFTER_SECONDS) });

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
