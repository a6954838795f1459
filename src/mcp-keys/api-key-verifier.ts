import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { BoundedGate } from '../common/bounded-gate.js';
import { AuthService } from '../auth/auth.service.js';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { type KeyVerdict, hashApiKey, isExpired, isWellFormedApiKey } from './api-key.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import { ApiKeyPoliciesRepository } from './api-key-policies.repository.js';
import type { KeyPolicy } from './key-policy.js';
import { KeyCacheMetrics } from './key-cache.metrics.js';

const LOOKUPS_WAITING_PER_SLOT = 16;
const RECENTLY_VALID_MS = 86_400_000;

/** Who a verified key belongs to; tool handlers receive it as the SDK's authInfo.extra. */
export interface VerifiedKey {
  keyId: string;
  userId: string;
  expiresAt: Date | null;
  /** Read with the key and cached with it: checking scopes and limits costs no round trip. Never mutated. */
  policy: KeyPolicy;
  /** For an OAuth access token: the MCP endpoint (RFC 8707 resource) it was issued for, which the door compares with its own. */
  audience?: string;
  /** For a self-contained token (the management platform's): no key row stands behind it; the records its query pack holds in all, if any. */
  selfContained?: { packRecords: number | undefined };
}

/** What a bearer token that stands for a key (an OAuth access token) resolves to. */
export interface DelegatedToken {
  keyId: string;
  userId: string;
  expiresAt: Date;
  /** The resource it was issued for; '' when it predates audiences (this server). */
  audience: string;
}

/** Another kind of bearer token the MCP door accepts in place of the key it stands for. */
export interface DelegatedTokens {
  /** Its shape, checked before any hashing or lookup. */
  isWellFormed(candidate: string): boolean;
  /** The live (unrevoked) token with this SHA-256, or undefined. */
  find(tokenHash: string): Promise<DelegatedToken | undefined>;
}

/**
 * Another kind of bearer token the MCP door accepts that carries its own proof (the management
 * platform's signed query-pack tokens): checked without a lookup, its verdict cached like a key's.
 */
export interface SelfContainedTokens {
  /** Its shape, checked before any hashing or verification. */
  isWellFormed(candidate: string): boolean;
  /** Its owner when it is valid at `now`, else undefined. */
  verify(candidate: string, now: Date): VerifiedKey | undefined;
}

/**
 * Turns `sk-...` into a key owner. Verdicts are cached for MCP_KEY_CACHE_TTL_SECONDS, so the hot
 * path costs no ClickHouse round-trip. Valid keys and unknown ones live in separate bounded LRUs,
 * so a flood of random keys costs one lookup each and cannot push valid keys out. Concurrent
 * misses for one key share one lookup. A revoke in this process evicts at once; one made
 * elsewhere (another instance, the original service) within MCP_CHANGE_POLL_MS (KeyChangeFeed),
 * or the TTL when that is off. Expiry is checked on every call from the cached expires_at.
 */
@Injectable()
export class ApiKeyVerifier {
  private readonly known: LRUCache<string, VerifiedKey>;
  /** Refusals: the owner's id when the key is valid but its account disabled (enabling it drops them), else true. */
  private readonly unknown: LRUCache<string, string | true>;
  /** Hashes that verified as valid in the last day: never strangers' random keys (see ApiKeyGuard). */
  private readonly recentlyValid: LRUCache<string, true>;
  /** Lookups under way, each with the changes applied while it ran (its answer may predate them). */
  private readonly lookups = new Map<string, PendingLookup>();
  /** ClickHouse lookups for keys not in either cache: a fixed share of the database, however many strangers knock. */
  private readonly lookupGate: BoundedGate;
  private delegated: DelegatedTokens | undefined;
  private selfContained: SelfContainedTokens | undefined;

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly policies: ApiKeyPoliciesRepository,
    private readonly auth: AuthService,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly metrics: KeyCacheMetrics,
    private readonly clickhouse: ClickHouseService,
  ) {
    const options = { max: config.mcp.keyCacheMaxEntries, ttl: Math.max(1, config.mcp.keyCacheTtlSeconds * 1000) };
    this.known = new LRUCache<string, VerifiedKey>(options);
    this.unknown = new LRUCache<string, string | true>(options);
    this.recentlyValid = new LRUCache<string, true>({ max: config.mcp.keyCacheMaxEntries, ttl: RECENTLY_VALID_MS });
    this.lookupGate = new BoundedGate(config.mcp.keyLookupConcurrency, config.mcp.keyLookupConcurrency * LOOKUPS_WAITING_PER_SLOT);
  }

  /**
   * Accepts another kind of bearer token (OAuth access tokens) as the key each one stands for: the
   * key's revoke, expiry, owner, policy and metering apply to it, and it expires on its own too.
   */
  acceptDelegatedTokens(tokens: DelegatedTokens): void {
    this.delegated = tokens;
  }

  /** Accepts tokens that prove themselves (see SelfContainedTokens); refusals count against the door's throttles like bad keys. */
  acceptSelfContainedTokens(tokens: SelfContainedTokens): void {
    this.selfContained = tokens;
  }

  /** The key's owner when a valid, unexpired verdict is cached; never asks ClickHouse. Counts a cache hit when it is. */
  cached(candidate: string, now = new Date()): VerifiedKey | undefined {
    const key = this.peek(candidate, now);
    if (key) this.metrics.hits.inc();
    return key;
  }

  /** Whether cached() would find the key, without counting a hit: the request's own check follows (see ApiKeyGuard). */
  isCached(candidate: string, now = new Date()): boolean {
    return this.peek(candidate, now) !== undefined;
  }

  /** Whether this key verified as valid here in the last day (it may have been revoked since: verify() tells). */
  wasRecentlyValid(candidate: string): boolean {
    return this.isWellFormed(candidate) && this.recentlyValid.has(hashApiKey(candidate));
  }

  async verify(candidate: string, now = new Date()): Promise<VerifiedKey | undefined> {
    const plan = this.lookUpFor(candidate, now);
    if (!plan) return undefined;
    const keyHash = hashApiKey(candidate);
    const cached = this.known.get(keyHash);
    if (cached || this.unknown.has(keyHash)) {
      this.metrics.hits.inc();
      return usable(cached, now);
    }
    this.metrics.misses.inc();
    const verdict = await this.lookUpOnce(keyHash, () => plan.lookUp(keyHash), plan.keepRefusal);
    return isValid(verdict) ? usable(verdict, now) : undefined;
  }

  /** Drops a key's cached verdict so its next use is checked against ClickHouse. */
  evict(keyHash: string): void {
    this.known.delete(keyHash);
    this.unknown.delete(keyHash);
    // A lookup under way may have read the row before the change: its answer must not be cached.
    this.lookups.delete(keyHash);
  }

  /** Drops a key's cached verdict and those of the tokens standing for it (a revoke, a policy change). */
  forget(key: { id: string; keyHash: string }): void {
    this.forgetChanges({ keyHashes: [key.keyHash], keyIds: new Set([key.id]) });
  }

  /**
   * Drops what changes made elsewhere touch, in one pass over the cache: verdicts by key hash,
   * refusals only of new keys' hashes (refused before their row reached this replica), the valid
   * verdicts of keys and tokens by key id or owner, and refusals cached because an owner's account
   * was disabled (it may be enabled again).
   */
  forgetChanges(changes: { keyHashes?: readonly string[]; newKeyHashes?: readonly string[]; keyIds?: ReadonlySet<string>; userIds?: ReadonlySet<string> }): void {
    const { keyHashes = [], newKeyHashes = [], keyIds = new Set<string>(), userIds = new Set<string>() } = changes;
    for (const keyHash of keyHashes) this.evict(keyHash);
    for (const keyHash of newKeyHashes) this.unknown.delete(keyHash);
    // A lookup under way may have read the old state: it is not cached if the change touches what it finds.
    const change: KeyChanges = { keyHashes: new Set(newKeyHashes), keyIds, userIds };
    for (const pending of this.lookups.values()) pending.changesSince.push(change);
    if (keyIds.size === 0 && userIds.size === 0) return;
    const stale = [...this.known.entries()].filter(([, key]) => keyIds.has(key.keyId) || userIds.has(key.userId)).map(([keyHash]) => keyHash);
    for (const keyHash of stale) this.known.delete(keyHash);
    if (userIds.size > 0) {
      const refusedOwners = [...this.unknown.entries()].filter(([, owner]) => owner !== true && userIds.has(owner)).map(([keyHash]) => keyHash);
      for (const keyHash of refusedOwners) this.unknown.delete(keyHash);
    }
  }

  private isWellFormed(candidate: string): boolean {
    return isWellFormedApiKey(candidate) || this.delegated?.isWellFormed(candidate) === true || this.selfContained?.isWellFormed(candidate) === true;
  }

  /** How a bearer of this shape is checked, and whether its refusal is cached; undefined for a shape no kind of token has. */
  private lookUpFor(candidate: string, now: Date): LookupPlan | undefined {
    if (isWellFormedApiKey(candidate)) return { lookUp: (keyHash) => this.lookUpKey(keyHash), keepRefusal: true };
    const { delegated, selfContained } = this;
    if (delegated?.isWellFormed(candidate)) return { lookUp: (keyHash) => this.lookUpDelegated(delegated, keyHash), keepRefusal: true };
    // A self-contained token is checked without the database: its refusal is not kept, so one that
    // was not valid yet (nbf a moment ahead of this clock) passes as soon as it is.
    if (selfContained?.isWellFormed(candidate)) return { lookUp: () => Promise.resolve(selfContained.verify(candidate, now)), keepRefusal: false };
    return undefined;
  }

  private peek(candidate: string, now: Date): VerifiedKey | undefined {
    if (!this.isWellFormed(candidate)) return undefined;
    return usable(this.known.get(hashApiKey(candidate)), now);
  }

  private lookUpOnce(keyHash: string, lookUp: () => Promise<Verdict>, keepRefusal: boolean): Promise<Verdict> {
    const pending = this.lookups.get(keyHash);
    if (pending) return pending.verdict;
    const started: PendingLookup = {
      verdict: lookUp().then((verdict) => {
        if (this.lookups.get(keyHash) !== started) return verdict;
        this.lookups.delete(keyHash);
        const stale = started.changesSince.some((change) => touches(change, keyHash, verdict));
        if (!stale && (keepRefusal || isValid(verdict))) this.remember(keyHash, verdict);
        return verdict;
      }),
      changesSince: [],
    };
    this.lookups.set(keyHash, started);
    // A failed lookup caches nothing; the next call tries again.
    started.verdict.catch(() => this.lookups.get(keyHash) === started && this.lookups.delete(keyHash));
    return started.verdict;
  }

  private remember(keyHash: string, verdict: Verdict): void {
    if (isValid(verdict)) {
      this.known.set(keyHash, verdict);
      this.recentlyValid.set(keyHash, true);
    } else {
      this.unknown.set(keyHash, verdict?.disabledOwner ?? true);
    }
  }

  /** Throws GateFullError when too many lookups are already waiting (the caller answers 503). */
  private async lookUpKey(keyHash: string): Promise<Verdict> {
    const key = await this.lookUpRecent(() => this.keys.findByHash(keyHash));
    return key?.isActive ? this.withOwnerAndPolicy(key) : undefined;
  }

  /** The key a delegated token stands for, expiring with whichever of the two expires first. */
  private async lookUpDelegated(tokens: DelegatedTokens, tokenHash: string): Promise<Verdict> {
    const token = await this.lookUpRecent(() => tokens.find(tokenHash));
    const key = token && (await this.keys.findOwned(token.userId, token.keyId));
    if (!token || !key?.isActive) return undefined;
    const expiresAt = key.expiresAt !== null && key.expiresAt < token.expiresAt ? key.expiresAt : token.expiresAt;
    const verdict = await this.withOwnerAndPolicy({ ...key, expiresAt });
    return isValid(verdict) && token.audience !== '' ? { ...verdict, audience: token.audience } : verdict;
  }

  /**
   * A read through the lookup gate; a miss is read again after the replication grace (a key just
   * created through another replica), outside the gate, so waiting holds no lookup slot.
   */
  private lookUpRecent<T>(read: () => Promise<T | undefined>): Promise<T | undefined> {
    return this.clickhouse.lookUpRecent(() => this.lookupGate.run(read));
  }

  private async withOwnerAndPolicy(key: KeyVerdict): Promise<Verdict> {
    const [user, policy] = await Promise.all([this.auth.activeUser(key.userId), this.policies.find(key.id)]);
    return user ? toVerifiedKey(key, Object.freeze(policy)) : { disabledOwner: key.userId };
  }
}

/** What a lookup found: a valid key, a valid key of a disabled account, or nothing usable. */
type Verdict = VerifiedKey | { disabledOwner: string } | undefined;

/** Changes made elsewhere, as forgetChanges received them. */
interface KeyChanges {
  /** Keys that now have a row (refused before it reached this replica). */
  keyHashes: ReadonlySet<string>;
  keyIds: ReadonlySet<string>;
  userIds: ReadonlySet<string>;
}

interface LookupPlan {
  lookUp(keyHash: string): Promise<Verdict>;
  keepRefusal: boolean;
}

interface PendingLookup {
  verdict: Promise<Verdict>;
  changesSince: KeyChanges[];
}

/**
 * Whether a change may have made a lookup's answer stale: only then is it not cached. The change
 * feed brings every change of the last minute again at each poll, so anything broader would keep
 * uncached the keys being looked up whenever anybody's account or keys changed lately.
 */
function touches(change: KeyChanges, keyHash: string, verdict: Verdict): boolean {
  if (isValid(verdict)) return change.keyIds.has(verdict.keyId) || change.userIds.has(verdict.userId);
  // A refusal may predate the key's row reaching this replica.
  if (change.keyHashes.has(keyHash)) return true;
  return verdict !== undefined && change.userIds.has(verdict.disabledOwner);
}

const isValid = (verdict: Verdict): verdict is VerifiedKey => verdict !== undefined && 'keyId' in verdict;

/** A copy of an unexpired verdict, so that no caller can alter the cached one. */
const usable = (key: VerifiedKey | undefined, now: Date) => (key && !isExpired(key, now) ? { ...key } : undefined);

const toVerifiedKey = (key: KeyVerdict, policy: KeyPolicy): VerifiedKey => ({ keyId: key.id, userId: key.userId, expiresAt: key.expiresAt, policy });
