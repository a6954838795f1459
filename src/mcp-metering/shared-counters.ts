import { createHash, randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { ADMIT_SCRIPT, CHARGE_SCRIPT, RAISE_SCRIPT, RATE_SCRIPT, SEED_SCRIPT } from './shared-counters.lua.js';
import type { Metric, Tally } from './usage-ledger.js';

/** One quota of a call as Redis judges it: the counter cell it counts on, what it counts, its limit. */
export interface SharedRule {
  cell: string;
  metric: Metric;
  limit: number;
}

/** A cell's usage to set in Redis when Redis does not hold it yet, kept until `expiresAtMs`. */
export interface CellSeed extends Tally {
  cell: string;
  expiresAtMs: number;
}

export type SharedVerdict =
  | { seed: true }
  | { exhausted: { rule: number; used: number } }
  | { wait: true }
  /** `records`: at most this many (Infinity: no record quota); release() gives the hold back. */
  | { grant: { records: number; release(): Promise<void> } };

/**
 * How long a call's hold on its quotas lasts when its gateway dies before giving it back. Longer
 * than any call runs (ClickHouse queries time out long before), so a live call never loses its hold.
 */
const HOLD_LIFETIME_MS = 60_000;
/** Cells per script run when refreshing many users at once. */
const CELLS_PER_RUN = 500;

interface Script {
  source: string;
  sha: string;
}
const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });
const SCRIPTS = { rate: script(RATE_SCRIPT), admit: script(ADMIT_SCRIPT), seed: script(SEED_SCRIPT), charge: script(CHARGE_SCRIPT), raise: script(RAISE_SCRIPT) };

/**
 * Rate-limit windows and quota counters shared by every gateway through one Redis
 * (METERING_REDIS_URL), so N gateways admit exactly what one would. Each decision is one Lua
 * script, atomic in Redis. Commands fail fast (no offline queue, METERING_REDIS_TIMEOUT_MS): while
 * Redis does not answer, `ready` is false and metering counts in each process as without Redis.
 */
export class SharedCounters {
  private readonly logger = new Logger(SharedCounters.name);
  private readonly redis: Redis;
  private wasReady = false;

  constructor(
    url: string,
    private readonly prefix: string,
    timeoutMs: number,
    private readonly holdLifetimeMs = HOLD_LIFETIME_MS,
  ) {
    this.redis = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: timeoutMs,
      connectTimeout: Math.max(timeoutMs, 1000),
      // Reconnects forever, at most every 2 s: metering goes back to Redis as soon as it answers.
      retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    });
    this.redis.on('ready', () => {
      this.wasReady = true;
      this.logger.log('shared metering counters (Redis) connected: rate limits and quotas are exact across gateways');
    });
    this.redis.on('error', (error: Error) => {
      if (!this.wasReady) return;
      this.wasReady = false;
      this.logger.warn({ err: error }, 'shared metering counters (Redis) unavailable: each gateway counts on its own until it answers');
    });
  }

  get ready(): boolean {
    return this.redis.status === 'ready';
  }

  /** Connects, waiting at most `timeoutMs`; a gateway starts and meters on its own without Redis. */
  async connect(): Promise<void> {
    await this.redis.connect().catch((error: unknown) => {
      this.logger.warn({ err: error }, 'shared metering counters (Redis) not reachable at start: each gateway counts on its own until it is');
    });
  }

  close(): void {
    this.redis.disconnect();
  }

  /** Counts a call against a key's calls per minute: 0, or the seconds until one would be admitted. */
  async takeRate(keyId: string, limitPerMinute: number): Promise<number> {
    return Number(await this.run(SCRIPTS.rate, [this.key('rate', keyId)], [limitPerMinute]));
  }

  /** Judges a call against its quotas and, when it may run, holds what it may use. */
  async admit(rules: SharedRule[], wantedRecords: number): Promise<SharedVerdict> {
    const cells = [...new Set(rules.map((rule) => rule.cell))];
    const keys = cells.flatMap((cell) => [this.key('usage', cell), this.key('holds', cell)]);
    const holdId = randomUUID();
    const args: (string | number)[] = [holdId, this.holdLifetimeMs, wantedRecords, rules.length];
    for (const rule of rules) args.push(cells.indexOf(rule.cell) + 1, rule.metric, rule.limit);
    const [verdict, first, second] = (await this.run(SCRIPTS.admit, keys, args)) as [string, number?, number?];
    if (verdict === 'seed') return { seed: true };
    if (verdict === 'wait') return { wait: true };
    if (verdict === 'exhausted') return { exhausted: { rule: Number(first) - 1, used: Number(second) } };
    const records = Number(first) < 0 ? Number.POSITIVE_INFINITY : Number(first);
    const member = `${holdId}:${Math.max(Number(first), 0)}`;
    return { grant: { records, release: () => this.release(cells, member) } };
  }

  /** Sets the cells Redis does not hold yet; cells another gateway seeded first keep their count. */
  async seed(seeds: CellSeed[]): Promise<void> {
    await this.run(
      SCRIPTS.seed,
      seeds.map((seed) => this.key('usage', seed.cell)),
      seeds.flatMap((seed) => [seed.calls, seed.records, seed.expiresAtMs]),
    );
  }

  /** Counts a recorded call (or takes back a record never stored, with negative amounts). */
  async charge(cells: string[], amount: Tally): Promise<void> {
    await this.run(
      SCRIPTS.charge,
      cells.map((cell) => this.key('usage', cell)),
      [amount.calls, amount.records],
    );
  }

  /** Raises cells Redis holds to what ClickHouse counts, where it counts more. */
  async raise(cells: (Tally & { cell: string })[]): Promise<void> {
    for (let start = 0; start < cells.length; start += CELLS_PER_RUN) {
      const part = cells.slice(start, start + CELLS_PER_RUN);
      await this.run(
        SCRIPTS.raise,
        part.map((cell) => this.key('usage', cell.cell)),
        part.flatMap((cell) => [cell.calls, cell.records]),
      );
    }
  }

  /** What Redis counts on each cell; undefined for a cell it does not hold. */
  async usage(cells: string[]): Promise<(Tally | undefined)[]> {
    const pipeline = this.redis.pipeline();
    for (const cell of cells) pipeline.hmget(this.key('usage', cell), 'calls', 'records');
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, values]) => {
      if (error) throw error;
      const [calls, records] = values as (string | null)[];
      return calls === null ? undefined : { calls: Number(calls), records: Number(records ?? 0) };
    });
  }

  private async release(cells: string[], member: string): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const cell of cells) pipeline.zrem(this.key('holds', cell), member);
    await pipeline.exec();
  }

  private key(kind: 'rate' | 'usage' | 'holds', id: string): string {
    return `${this.prefix}${kind}:${id}`;
  }

  /** Runs a script by its hash, sending its source once when Redis does not have it yet. */
  private async run(script: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.redis.eval(script.source, keys.length, ...keys, ...args);
    }
  }
}
