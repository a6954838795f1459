import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { StoreRejectedDataError } from '../clickhouse/clickhouse-errors.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ReadWriteLock } from '../common/read-write-lock.js';
import type { UsageRecord } from './usage-record.js';
import { type SpoolSegment, UsageSpool } from './usage-spool.js';
import { UsageRepository } from './usage.repository.js';

export interface UsageWriterStatus {
  /** Records on disk that ClickHouse has not confirmed yet. */
  queue_depth: number;
  spool_bytes: number;
  spool_capacity_bytes: number;
  oldest_record_age_ms: number;
  batches_written: number;
  records_written: number;
  /** Records a retry found already stored (an earlier attempt had landed) and did not send again. */
  records_already_stored: number;
  retries: number;
  consecutive_failures: number;
  last_error: string | null;
  skipped_corrupt_records: number;
  /** Records ClickHouse refused as malformed, kept in rejected.jsonl instead of blocking the rest. */
  records_rejected: number;
  /** Group commits so far: records written to the spool per fsync is records / fsyncs. */
  spool_fsyncs: number;
  accepting: boolean;
}

/** Follows each record from the spool into ClickHouse (the quota counters do). Calls are synchronous and must not throw. */
export interface UsageListener {
  /** The record is on local disk; its call is about to be answered (or, `fromEarlierRun`, it was left by an earlier run). */
  spooled(record: UsageRecord, fromEarlierRun?: boolean): void;
  /** ClickHouse confirmed storing these; `outcomeWasUnknown` when an earlier attempt may have stored some already. */
  stored(records: UsageRecord[], outcomeWasUnknown: boolean): void;
  /** ClickHouse refused the record as malformed: it is set aside, never stored. */
  dropped(record: UsageRecord): void;
}

/** How far shipping got into a segment; `unsure` while an attempt's outcome is unknown. */
interface ShippingState {
  segment: SpoolSegment;
  records: number;
  unsure: boolean;
}

/** ClickHouse refused the data itself ("try again" would fail the same way). */
const isRejectedData = (error: unknown) => error instanceof StoreRejectedDataError;

/** Resolves after `ms`, or as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Makes each usage record durable in the local spool before its tool result is sent, then ships
 * the spool to ClickHouse in batches (by size or by time, whichever comes first) and deletes each
 * segment once ClickHouse has confirmed it. ClickHouse slow or down: segments wait on disk and the
 * oldest is retried with exponential backoff and jitter. A retry after an unknown outcome sends
 * only what the table does not hold yet (writeBatch), so every record is stored exactly once,
 * whatever engine the operator's table has. The spool has a byte cap; at the cap new calls are
 * refused.
 */
@Injectable()
export class UsageWriter implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(UsageWriter.name);
  private readonly spool: UsageSpool;
  private shipping: Promise<void> | undefined;
  private accepting = true;
  private timer: NodeJS.Timeout | undefined;
  /** Shipping stops after this moment; infinite until shutdown sets it. */
  private deadline = Number.POSITIVE_INFINITY;
  /**
   * One signal for the whole shutdown: aborted when shutdown begins, it wakes a backoff sleep
   * chosen before the signal; `deadlinePassed` then aborts every insert still under way, also one
   * sent before the signal (its records stay spooled), so shutdown keeps its deadline.
   */
  private readonly shutdownBegun = new AbortController();
  private readonly deadlinePassed = new AbortController();
  /** How far into the segment being shipped ClickHouse has confirmed, so a retry resends only the rest. */
  private confirmed: ShippingState | undefined;
  private readonly listeners: UsageListener[] = [];
  /** Inserts are the writer side, so a reader of the log's counts never sees a batch half-way from spooled to stored. */
  private readonly inserts = new ReadWriteLock();
  /** The last batch whose insert failed in a way that may have stored it, until a retry settles it. */
  private unknownOutcome: UsageRecord[] | undefined;
  /** Ids of the shipping segment's records already reported stored or set aside: a retry reports only the rest. */
  private readonly reported = new Set<string>();
  private readonly counters = {
    batchesWritten: 0,
    recordsWritten: 0,
    recordsAlreadyStored: 0,
    recordsRejected: 0,
    retries: 0,
    consecutiveFailures: 0,
    lastError: null as string | null,
  };

  constructor(
    private readonly usage: UsageRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.spool = new UsageSpool({ dir: config.usage.spoolDir, maxBytes: config.usage.spoolMaxBytes, segmentRecords: config.usage.batchSize });
  }

  /**
   * Records an earlier run left in the spool are shipped before the service answers calls, so the
   * usage log (and every quota counter read from it) includes them from the first call on. When
   * ClickHouse does not take them within USAGE_STARTUP_FLUSH_TIMEOUT_MS the service starts anyway:
   * shipping goes on in the background and the records still on disk are reported as spooled, so
   * quota counters count them all the same.
   */
  async onModuleInit(): Promise<void> {
    const recovered = await this.spool.open();
    if (recovered.records === 0 && recovered.skipped === 0) return;
    this.logger.log({ ...recovered }, 'shipping usage records left in the spool by an earlier run');
    const shipped = this.flush().then(() => this.spool.status().records === 0);
    if (await Promise.race([shipped, sleep(this.config.usage.startupFlushTimeoutMs, this.shutdownBegun.signal).then(() => false)])) {
      this.logger.log({ records: recovered.records }, 'usage records of the earlier run shipped');
      return;
    }
    this.logger.warn({ records: this.spool.status().records }, 'usage records of the earlier run are not shipped yet; starting anyway, they ship in the background');
    await this.reportLeftovers();
  }

  /** Tells listeners of the recovered records not yet reported stored, as if they were spooled now. */
  private async reportLeftovers(): Promise<void> {
    for (const segment of this.spool.sealedSegments()) {
      // Shipping goes on meanwhile: a segment it removed was stored, and reported so.
      const records = await this.spool.read(segment).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      });
      for (const record of records) {
        if (this.reported.has(record.id)) continue;
        for (const listener of this.listeners) listener.spooled(record, true);
      }
    }
  }

  listen(listener: UsageListener): void {
    this.listeners.push(listener);
  }

  /**
   * Runs `read` (of the usage log) while no usage insert is under way. Records of a failed insert
   * that did land after all are reported stored first, so the read and the spooled counts never
   * both hold them while the writer backs off before its retry.
   */
  whileNoInsertRuns<T>(read: () => Promise<T>): Promise<T> {
    return this.inserts.read(async () => {
      await this.reportLandedOfUnknownOutcome();
      return read();
    });
  }

  private async reportLandedOfUnknownOutcome(): Promise<void> {
    const batch = this.unknownOutcome;
    if (!batch) return;
    const stored = await this.usage.storedIds(batch);
    this.reportStored(batch.filter((record) => stored.has(record.id)), false);
  }

  /** Refuses new tool calls from now on (shutdown has begun); calls under way still finish. */
  stopIntake(): void {
    this.accepting = false;
  }

  /** Whether a new tool call may run: false while shutting down or while the spool is full. */
  isAccepting(): boolean {
    return this.accepting && this.spool.hasRoom();
  }

  /** Resolves once the record is on local disk; shipping to ClickHouse happens later. */
  async record(record: UsageRecord): Promise<void> {
    await this.spool.append(record);
    for (const listener of this.listeners) listener.spooled(record);
    if (this.spool.oldestSealed()) void this.startShipping();
    else this.armTimer(this.config.usage.flushIntervalMs - (this.spool.activeAge() ?? 0));
  }

  status(): UsageWriterStatus {
    const spool = this.spool.status();
    return {
      queue_depth: spool.records,
      spool_bytes: spool.bytes,
      spool_capacity_bytes: spool.capacityBytes,
      oldest_record_age_ms: spool.oldestAt === undefined ? 0 : Math.max(0, Date.now() - spool.oldestAt),
      batches_written: this.counters.batchesWritten,
      records_written: this.counters.recordsWritten,
      records_already_stored: this.counters.recordsAlreadyStored,
      retries: this.counters.retries,
      consecutive_failures: this.counters.consecutiveFailures,
      last_error: this.counters.lastError,
      skipped_corrupt_records: spool.skippedCorrupt,
      records_rejected: this.counters.recordsRejected,
      spool_fsyncs: spool.fsyncs,
      accepting: this.accepting,
    };
  }

  /** Ships everything spooled, retrying until the spool is empty or the deadline passes. */
  async flush(): Promise<void> {
    while (this.shipping) await this.shipping;
    await this.startShipping();
  }

  /**
   * Runs after the listeners closed (in-flight calls are answered) and before ClickHouseService
   * closes its client. Whatever cannot be shipped in time stays on disk for the next start.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopIntake();
    const timeoutMs = this.config.usage.shutdownFlushTimeoutMs;
    this.deadline = Date.now() + timeoutMs;
    const deadlineTimer = setTimeout(() => this.deadlinePassed.abort(), timeoutMs);
    this.shutdownBegun.abort();
    await this.flush();
    clearTimeout(deadlineTimer);
    await this.spool.close();
    clearTimeout(this.timer);
    const left = this.spool.status().records;
    if (left > 0) this.logger.warn({ records: left, dir: this.config.usage.spoolDir }, 'usage records kept in the spool; they are shipped on the next start');
  }

  /** Timers never keep the process alive: shutdown ships what is due itself. */
  private armTimer(delayMs: number): void {
    this.timer ??= setTimeout(() => void this.startShipping(), Math.max(0, delayMs)).unref();
  }

  /** Starts the shipper unless it runs already; resolves when it stops. ship() never rejects. */
  private startShipping(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    return (this.shipping ??= this.ship().finally(() => (this.shipping = undefined)));
  }

  private async ship(): Promise<void> {
    while (Date.now() < this.deadline) {
      const segment = this.spool.oldestSealed();
      try {
        if (!segment) {
          if (!this.activeSegmentDue()) return;
          await this.spool.seal();
        } else if (await this.shipSegment(segment)) {
          await this.spool.remove(segment);
          this.reported.clear();
        } else {
          await this.backOff();
        }
      } catch (error) {
        await this.handleSpoolError(error, segment);
      }
    }
  }

  /** A spool file operation failed (the ClickHouse side never throws here). */
  private async handleSpoolError(error: unknown, segment: SpoolSegment | undefined): Promise<void> {
    if (segment && (error as NodeJS.ErrnoException).code === 'ENOENT') {
      this.logger.error({ segment: segment.path, records: segment.records }, 'a usage spool segment was deleted from outside; its records are lost');
      this.spool.forget(segment);
      return;
    }
    this.noteFailure(error, 'usage spool operation failed; will retry');
    await this.backOff();
  }

  /** Waits before the next attempt; shutdown's beginning or deadline cuts the wait short. */
  private backOff(): Promise<void> {
    const wake = this.shutdownBegun.signal.aborted ? this.deadlinePassed.signal : this.shutdownBegun.signal;
    return sleep(Math.min(this.retryDelay(), Math.max(0, this.deadline - Date.now())), wake);
  }

  /**
   * A partial segment ships once it is USAGE_FLUSH_INTERVAL_MS old (or at shutdown), never merely
   * because the previous insert finished: inserts of a few rows each would make ClickHouse write
   * and merge a part per handful of calls, its largest cost under load (bench/README.md).
   */
  private activeSegmentDue(): boolean {
    const age = this.spool.activeAge();
    if (age === undefined) return false;
    const wait = this.config.usage.flushIntervalMs - age;
    if (wait <= 0 || this.deadline !== Number.POSITIVE_INFINITY) return true;
    this.armTimer(wait);
    return false;
  }

  private async shipSegment(segment: SpoolSegment): Promise<boolean> {
    // An earlier process may have shipped part of a segment it left behind before it stopped.
    if (this.confirmed?.segment !== segment) this.confirmed = { segment, records: 0, unsure: segment.recovered === true };
    const records = await this.spool.read(segment);
    const { batchSize } = this.config.usage;
    for (let start = this.confirmed.records; start < records.length && Date.now() < this.deadline; start += batchSize) {
      if (!(await this.writeBatch(records.slice(start, start + batchSize), this.confirmed))) return false;
      this.confirmed.records = Math.min(records.length, start + batchSize);
    }
    return this.confirmed.records >= records.length;
  }

  /**
   * Stores a batch exactly once. A first attempt just inserts. After an attempt whose outcome is
   * unknown (a timeout, a dropped connection, a crash: the rows may have landed), the next one
   * waits until the earlier insert no longer runs on the server (each batch's inserts share a
   * query id) and sends only the records the table does not hold yet.
   */
  private writeBatch(records: UsageRecord[], state: { unsure: boolean }): Promise<boolean> {
    return this.inserts.write(() => this.insertBatch(records, state));
  }

  private async insertBatch(records: UsageRecord[], state: { unsure: boolean }): Promise<boolean> {
    const queryId = `usage-batch-${records[0].id}`;
    try {
      const outcomeWasUnknown = state.unsure;
      const pending = outcomeWasUnknown ? await this.notYetStored(records, queryId) : records;
      if (pending === undefined) return false;
      if (pending.length > 0) await this.usage.insert(pending, { signal: this.deadlinePassed.signal, queryId });
      state.unsure = false;
      this.unknownOutcome = undefined;
      this.reportStored(records, outcomeWasUnknown);
      this.counters.batchesWritten++;
      this.counters.recordsWritten += pending.length;
      this.counters.recordsAlreadyStored += records.length - pending.length;
      if (this.counters.consecutiveFailures > 0) this.logger.log({ spooled: this.spool.status().records }, 'usage writes recovered');
      this.counters.consecutiveFailures = 0;
      return true;
    } catch (error) {
      state.unsure = true;
      if (isRejectedData(error) && records.length > 1) return this.writeOneByOne(records);
      if (isRejectedData(error)) return this.reject(records[0], error);
      // Refused data never lands; only a failure like this one may have stored the batch after all.
      this.unknownOutcome = records;
      this.noteFailure(error, 'usage batch write failed; will retry');
      return false;
    }
  }

  private reportStored(records: UsageRecord[], outcomeWasUnknown: boolean): void {
    const fresh = records.filter((record) => !this.reported.has(record.id));
    for (const record of fresh) this.reported.add(record.id);
    for (const listener of this.listeners) listener.stored(fresh, outcomeWasUnknown);
  }

  /** The records not stored yet; undefined while an earlier insert of them still runs. */
  private async notYetStored(records: UsageRecord[], queryId: string): Promise<UsageRecord[] | undefined> {
    if (await this.usage.isRunning(queryId)) {
      this.noteFailure(new Error(`insert ${queryId} is still running`), 'an earlier insert of this usage batch is still running; will check again');
      return undefined;
    }
    const stored = await this.usage.storedIds(records);
    return records.filter((record) => !stored.has(record.id));
  }

  /** ClickHouse refused a batch's data: find the record it chokes on, so the rest still ship. */
  private async writeOneByOne(records: UsageRecord[]): Promise<boolean> {
    // Already under the insert lock (insertBatch called this). A record set aside by an earlier
    // pass is not sent again (it would be set aside, and reported dropped, twice).
    for (const record of records) {
      if (!this.reported.has(record.id) && !(await this.insertBatch([record], { unsure: true }))) return false;
    }
    return true;
  }

  /** A record ClickHouse will never take is set aside, never retried forever in front of the others. */
  private async reject(record: UsageRecord, error: unknown): Promise<boolean> {
    try {
      await this.spool.setAside(record);
    } catch (setAsideError) {
      this.noteFailure(setAsideError, 'could not set a rejected usage record aside; will retry');
      return false;
    }
    this.counters.recordsRejected++;
    this.reported.add(record.id);
    for (const listener of this.listeners) listener.dropped(record);
    this.logger.error({ id: record.id, err: error }, 'ClickHouse rejected a usage record; it was moved to rejected.jsonl in the spool directory');
    return true;
  }

  private noteFailure(error: unknown, message: string): void {
    this.counters.retries++;
    this.counters.consecutiveFailures++;
    this.counters.lastError = error instanceof Error ? error.message : String(error);
    this.logger.warn({ spooled: this.spool.status().records, attempt: this.counters.consecutiveFailures, err: error }, message);
  }

  /** Exponential backoff from USAGE_RETRY_BASE_DELAY_MS with full jitter, capped by USAGE_RETRY_MAX_DELAY_MS. */
  private retryDelay(): number {
    const exponential = this.config.usage.retryBaseDelayMs * 2 ** Math.min(this.counters.consecutiveFailures, 20);
    const capped = Math.min(this.config.usage.retryMaxDelayMs, exponential);
    return capped / 2 + Math.random() * (capped / 2);
  }
}
