import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { OAuthTokensRepository } from './oauth-tokens.repository.js';

/** The first pruning waits until start-up work is long done. */
const FIRST_PRUNE_DELAY_MS = 60_000;
const PRUNE_INTERVAL_MS = 24 * 3_600_000;

/**
 * Keeps `mcp_oauth_tokens` from growing forever: each refresh adds rows, and an expired code or
 * token is never asked for again. Once a day (every instance; a second one finds nothing).
 */
@Injectable()
export class OAuthTokenPruner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OAuthTokenPruner.name);
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly tokens: OAuthTokensRepository) {}

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
    try {
      const deleted = await this.tokens.pruneExpired();
      if (deleted > 0) this.logger.log({ deleted }, 'expired OAuth codes and tokens deleted');
    } catch (error) {
      this.logger.warn({ err: error }, 'expired OAuth codes and tokens could not be deleted; trying again tomorrow');
    }
    this.schedule(PRUNE_INTERVAL_MS);
  }
}
