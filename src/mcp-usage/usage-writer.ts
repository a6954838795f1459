import { type BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { UsageRecord } from './usage-record.js';
import { UsageRepository } from './usage.repository.js';

const BASE_RETRY_DELAY_MS = 100;

export interface UsageWriterStatus {
  queue_depth: number;
  queue_capacity: number;
  oldest_record_age_ms: number;
  batches_written: number;
  records_written: number;
  retries: number;
  consecutive_failures: number;
  last_error: string | null;
  accepting: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Queues usage records in memory and writes them to ClickHouse in batches, by size or by time,
 * whichever comes first. A failed batch stays at the head of the queue and is retried with
 * exponential backoff and jitter until ClickHouse answers, so records are never dropped. The
 * queue is bounded: callers reserve a place before a tool runs, and a full queue refuses the call
 * (see UsageInterceptor) instead of losing its record. SIGTERM stops intake and flushes.
 */
@Injectable()
export class UsageWriter implements BeforeApplicationShutdown {
  private readonly logger = new Logger(UsageWriter.name);
  private readonly queue: { record: UsageRecord; queuedAt: number }[] = [];
  private reserved = 0;
  private pumping = false;
  private accepting = true;
  private timer: NodeJS.Timeout | undefined;
  /** Writing stops after this moment; infinite until shutdown sets it. */
  private deadline = Number.POSITIVE_INFINITY;
  private readonly counters = { batchesWritten: 0, recordsWritten: 0, retries: 0, consecutiveFailures: 0, lastError: null as string | null };

  constructor(
    private readonly usage: UsageRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Holds a place in the queue for a call about to run; false when the queue is full or closed. */
  reserve(): boolean {
    if (!this.accepting || this.queue.length + this.reserved >= this.config.usage.queueMax) return false;
    this.reserved++;
    return true;
  }

  /** Adds the record of a call that reserved its place. Never waits for ClickHouse. */
  enqueue(record: UsageRecord): void {
    this.reserved = Math.max(0, this.reserved - 1);
    this.queue.push({ record, queuedAt: Date.now() });
    if (this.queue.length >= this.config.usage.batchSize) this.startPump();
    else this.timer ??= setTimeout(() => this.startPump(), this.config.usage.flushIntervalMs);
  }

  status(): UsageWriterStatus {
    return {
      queue_depth: this.queue.length,
      queue_capacity: this.config.usage.queueMax,
      oldest_record_age_ms: this.queue.length > 0 ? Date.now() - this.queue[0].queuedAt : 0,
      batches_written: this.counters.batchesWritten,
      records_written: this.counters.recordsWritten,
      retries: this.counters.retries,
      consecutive_failures: this.counters.consecutiveFailures,
      last_error: this.counters.lastError,
      accepting: this.accepting,
    };
  }

  /** Writes everything queued, retrying until the queue is empty or the deadline passes. */
  async flush(): Promise<void> {
    while (this.pumping) await sleep(10);
    await this.pump();
  }

  /** Runs before ClickHouseService closes its client (that happens in onApplicationShutdown). */
  async beforeApplicationShutdown(): Promise<void> {
    this.accepting = false;
    this.deadline = Date.now() + this.config.usage.shutdownFlushTimeoutMs;
    await this.flush();
    if (this.queue.length > 0) {
      this.logger.error({ unwritten: this.queue.length }, 'shutdown flush timed out: these usage records were not written');
    }
  }

  private startPump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pumping) return;
    // The pump owns its errors (it retries until written); nothing is left floating.
    void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0 && Date.now() < this.deadline) {
        const batch = this.queue.slice(0, this.config.usage.batchSize);
        if (await this.writeBatch(batch.map((item) => item.record))) {
          this.queue.splice(0, batch.length);
        } else {
          await sleep(Math.min(this.retryDelay(), Math.max(0, this.deadline - Date.now())));
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private async writeBatch(records: UsageRecord[]): Promise<boolean> {
    try {
      await this.usage.insert(records);
      this.counters.batchesWritten++;
      this.counters.recordsWritten += records.length;
      if (this.counters.consecutiveFailures > 0) this.logger.log({ queued: this.queue.length }, 'usage writes recovered');
      this.counters.consecutiveFailures = 0;
      return true;
    } catch (error) {
      this.counters.retries++;
      this.counters.consecutiveFailures++;
      this.counters.lastError = error instanceof Error ? error.message : String(error);
      this.logger.warn({ queued: this.queue.length, attempt: this.counters.consecutiveFailures, err: error }, 'usage batch write failed; will retry');
      return false;
    }
  }

  /** Exponential backoff with full jitter, capped by USAGE_RETRY_MAX_DELAY_MS. */
  private retryDelay(): number {
    const exponential = BASE_RETRY_DELAY_MS * 2 ** Math.min(this.counters.consecutiveFailures, 20);
    const capped = Math.min(this.config.usage.retryMaxDelayMs, exponential);
    return capped / 2 + Math.random() * (capped / 2);
  }
}
