import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { OAuthClientsRepository } from './oauth-clients.repository.js';
import { OAuthTokensRepository } from './oauth-tokens.repository.js';

/** The first pruning waits until start-up work is long done. */
const FIRST_PRUNE_DELAY_MS = 60_000;
const PRUNE_INTERVAL_MS = 24 * 3_600_000;

/**
 * Keeps the OAuth tables from growing forever, once a day (every instance; a second one finds
 * nothing): `mcp_oauth_tokens` gains rows with each refresh, and an expired code or token is never
 * asked for again; `mcp_oauth_clients` gains a row with each registration, which anyone may make.
 */
@Injectable()
export class OAuthPruner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OAuthPruner.name);
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly tokens: OAuthTokensRepository,
    private readonly clients: OAuthClientsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule(FIRST_PRUNE_DELAY_MS);
  }

  onApplicationShutdown(): void {
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => void this.prune(), delayMs).unref();
  }

  private async prune(): Promise<void> {
    await this.step('expired OAuth codes and tokens', 'tokens', () => this.tokens.pruneExpired());
    await this.step('OAuth clients nobody signed in with', 'clients', () => this.clients.pruneUnused(this.config.oauth.unusedClientTtlHours));
    this.schedule(PRUNE_INTERVAL_MS);
  }

  private async step(what: string, unit: string, prune: () => Promise<number>): Promise<void> {
    try {
      const count = await prune();
      if (count > 0) this.logger.log({ [unit]: count }, `${what} deleted`);
    } catch (error) {
      this.logger.warn({ err: error }, `${what} could not be deleted; trying again tomorrow`);
    }
  }
}
