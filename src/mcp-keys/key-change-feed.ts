import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { UsersRepository } from '../auth/users.repository.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ApiKeyVerifier } from './api-key-verifier.js';
import { ApiKeyPoliciesRepository } from './api-key-policies.repository.js';
import { ApiKeysRepository } from './api-keys.repository.js';

/**
 * Rows stamped up to this long before the last poll began are read again: another writer's clock
 * (the original service's, another instance's) may be behind the ClickHouse server's, and an
 * insert may land just after the poll's read. A row stamped even further back is missed, and only
 * MCP_KEY_CACHE_TTL_SECONDS bounds it (docs/architecture.md).
 */
const OVERLAP_SECONDS = 60;

/**
 * Revokes, policy changes and disabled accounts from every writer (other instances, the original
 * service, an operator's SQL) reach this instance's key cache within MCP_CHANGE_POLL_MS, and so do
 * new keys that were refused here before their row reached this replica (cluster mode): a poll
 * reads the few rows of mcp_api_keys, mcp_api_key_policies and users stamped since the last one
 * (by the ClickHouse server's clock, not this process's) and drops the cached verdicts they
 * touch. Three small reads per interval, never one per request; after failures, polls back off
 * up to the key cache TTL.
 */
@Injectable()
export class KeyChangeFeed implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(KeyChangeFeed.name);
  private timer: NodeJS.Timeout | undefined;
  /** When the last successful poll began (monotonic ms); the next reads from there on. */
  private lastPoll = performance.now();
  private polling: Promise<void> | undefined;
  private failures = 0;
  private nextAttempt = 0;

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly policies: ApiKeyPoliciesRepository,
    private readonly users: UsersRepository,
    private readonly verifier: ApiKeyVerifier,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const interval = this.config.mcp.changePollMs;
    if (interval > 0) this.timer = setInterval(() => void this.pollOnce(), interval).unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
  }

  /** One poll at a time: a slow database makes polls wait, never pile up. */
  pollOnce(): Promise<void> {
    if (performance.now() < this.nextAttempt) return Promise.resolve();
    return (this.polling ??= this.poll().finally(() => (this.polling = undefined)));
  }

  private async poll(): Promise<void> {
    const began = performance.now();
    const seconds = Math.ceil((began - this.lastPoll) / 1000) + OVERLAP_SECONDS;
    try {
      const [keys, policyKeys, users] = await Promise.all([this.keys.changedWithin(seconds), this.policies.changedWithin(seconds), this.users.changedWithin(seconds)]);
      const changed = keys.filter((key) => key.changed);
      this.verifier.forgetChanges({
        keyHashes: changed.map((key) => key.keyHash),
        newKeyHashes: keys.filter((key) => !key.changed).map((key) => key.keyHash),
        keyIds: new Set([...changed.map((key) => key.id), ...policyKeys]),
        userIds: new Set(users),
      });
      this.lastPoll = began;
      if (this.failures > 0) this.logger.log('key change feed reads again');
      this.failures = 0;
    } catch (error) {
      // The next poll reads from the last good one on: nothing stamped in time is missed, only late.
      if (this.failures === 0) this.logger.warn({ err: error }, 'key change feed could not read; revokes made elsewhere wait for it or for the key cache TTL');
      this.failures++;
      const backoff = Math.min(this.config.mcp.changePollMs * 2 ** this.failures, this.config.mcp.keyCacheTtlSeconds * 1000);
      this.nextAttempt = performance.now() + backoff;
    }
  }
}
