import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { AuthService } from '../auth/auth.service.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { type ApiKey, hashApiKey, isExpired, isWellFormedApiKey } from './api-key.js';
import { ApiKeysRepository } from './api-keys.repository.js';

/** Who a verified key belongs to; tool handlers receive it as the SDK's authInfo.extra. */
export interface VerifiedKey {
  keyId: string;
  userId: string;
  expiresAt: Date | null;
}

type CacheEntry = { valid: true; key: VerifiedKey } | { valid: false };

/**
 * Turns `sk-...` into a key owner. Results, including "no such key", are cached in a bounded LRU
 * for MCP_KEY_CACHE_TTL_SECONDS, so the hot path costs no ClickHouse round-trip and a flood of
 * one unknown key costs one lookup. Concurrent misses for one key share one lookup. A revoke in
 * this process evicts at once; another instance's cache may trust a revoked key for at most the
 * TTL. Expiry is checked on every call from the cached expires_at.
 */
@Injectable()
export class ApiKeyVerifier {
  private readonly cache: LRUCache<string, CacheEntry>;

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly auth: AuthService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.cache = new LRUCache<string, CacheEntry>({
      max: config.mcp.keyCacheMaxEntries,
      ttl: Math.max(1, config.mcp.keyCacheTtlSeconds * 1000),
      fetchMethod: (keyHash) => this.lookUp(keyHash),
    });
  }

  async verify(candidate: string, now = new Date()): Promise<VerifiedKey | undefined> {
    if (!isWellFormedApiKey(candidate)) return undefined;
    const entry = await this.cache.fetch(hashApiKey(candidate));
    if (!entry?.valid || isExpired(entry.key, now)) return undefined;
    return entry.key;
  }

  /** Drops a key's cached verdict so its next use is checked against ClickHouse. */
  evict(keyHash: string): void {
    this.cache.delete(keyHash);
  }

  private async lookUp(keyHash: string): Promise<CacheEntry> {
    const key = await this.keys.findByHash(keyHash);
    if (!key || !key.isActive || !(await this.auth.activeUser(key.userId))) return { valid: false };
    return { valid: true, key: toVerifiedKey(key) };
  }
}

const toVerifiedKey = (key: ApiKey): VerifiedKey => ({ keyId: key.id, userId: key.userId, expiresAt: key.expiresAt });
