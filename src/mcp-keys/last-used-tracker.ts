import { Injectable, Logger } from '@nestjs/common';
import { ApiKeysRepository } from './api-keys.repository.js';

const WRITE_INTERVAL_MS = 60_000;

/** Keeps last_used_at current with at most one asynchronous ClickHouse write per key per minute. */
@Injectable()
export class LastUsedTracker {
  private readonly logger = new Logger(LastUsedTracker.name);
  private readonly lastWritten = new Map<string, number>();

  constructor(private readonly keys: ApiKeysRepository) {}

  touch(keyId: string, now = Date.now()): void {
    const previous = this.lastWritten.get(keyId);
    if (previous !== undefined && now - previous < WRITE_INTERVAL_MS) return;
    this.lastWritten.set(keyId, now);
    // Deliberately not awaited: the MCP call must not wait for this bookkeeping write.
    this.keys.recordLastUsed(keyId, new Date(now)).catch((error: unknown) => {
      this.lastWritten.delete(keyId);
      this.logger.warn({ keyId, err: error }, 'could not record last_used_at');
    });
  }
}
