import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { UsersRepository } from '../auth/users.repository.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ApiKeyVerifier } from './api-key-verifier.js';
import { ApiKeyPoliciesRepository } from './api-key-policies.repository.js';
import { ApiKeysRepository } from './api-keys.repository.js';

/**
 * Rows written up to this long before the last poll began are read again: another writer's
 * clock may be behind this one's, and an insert may land just after the poll's read.
 */
const OVERLAP_MS = 5000;

/**
 * Revokes, policy changes and disabled accounts from every writer (other instances, the original
 * service, an operator's SQL) reach this instance's key cache within MCP_CHANGE_POLL_MS, and so do
 * new keys that were refused here before their row reached this replica (cluster mode): a poll
 * reads the few rows of mcp_api_keys, mcp_api_key_policies and users written since the last one
 * and drops the cached verdicts they touch. Three small reads per interval, never one per request.
 */
@Injectable()
export class KeyChangeFeed implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(KeyChangeFeed.name);
  private timer: NodeJS.Timeout | undefined;
  /** When the last successful poll began; changes since then (minus OVERLAP_MS) are read next. */
  private lastPoll = new Date();
  private polling: Promise<void> | undefined;
  private failing = false;

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
    return (this.polling ??= this.poll().finally(() => (this.polling = undefined)));
  }

  private async poll(): Promise<void> {
    const began = new Date();
    const since = new Date(this.lastPoll.getTime() - OVERLAP_MS);
    try {
      const [keys, policyKeys, users] = await Promise.all([this.keys.changedSince(since), this.policies.changedSince(since), this.users.changedSince(since)]);
      const changed = keys.filter((key) => key.changed);
      this.verifier.forgetChanges({
        keyHashes: changed.map((key) => key.keyHash),
        newKeyHashes: keys.filter((key) => !key.changed).map((key) => key.keyHash),
        keyIds: new Set([...changed.map((key) => key.id), ...policyKeys]),
        userIds: new Set(users),
      });
      this.lastPoll = began;
      if (this.failing) this.logger.log('key change feed reads again');
      this.failing = false;
    } catch (error) {
      // The next poll reads from the last good one on: nothing is missed, only late.
      if (!this.failing) this.logger.warn({ err: error }, 'key change feed could not read; revokes from elsewhere wait for the key cache TTL or the next poll');
      this.failing = true;
    }
  }
}
