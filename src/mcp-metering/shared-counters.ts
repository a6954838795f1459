import { createHash, randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { ADMIT_SCRIPT, RAISE_SCRIPT, RELEASE_SCRIPT, SEED_SCRIPT, SETTLE_SCRIPT } from './shared-counters.lua.js';
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

/** A call to admit: its key's rate limit (0: none, or counted already) and its quotas. */
export interface SharedAdmission {
  keyId: string;
  callsPerMinute: number;
  rules: SharedRule[];
  /** The records the tool may return (0: it reads none). */
  wantedRecords: number;
}

export type SharedVerdict =
  | { seed: true }
  | { rateLimited: { retryAfterSeconds: number } }
  | { exhausted: { rule: number; used: number } }
  /** The rate was counted: look again without it. */
  | { wait: true }
  /** `records`: at most this many (Infinity: no record quota); `used`: each rule's count before the call; `hold` to settle or release. */
  | { grant: { records: number; used: number[]; hold: GrantedHold } };

/** A call's hold on its quotas' cells, to give back when it is settled or ends. */
export interface Hold {
  id: string;
  cells: string[];
}

/** A hold Redis granted, with the records it holds on each of its cells. */
export interface GrantedHold extends Hold {
  records: number;
}

/** Cells per script run when refreshing many users at once. */
const CELLS_PER_RUN = 500;
/** Releases kept while Redis is away; beyond that their holds lapse on their own. */
const MAX_UNRELEASED = 10_000;

interface Script {
  source: string;
  sha: string;
}
const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });
const SCRIPTS = { admit: script(ADMIT_SCRIPT), seed: script(SEED_SCRIPT), settle: script(SETTLE_SCRIPT), raise: script(RAISE_SCRIPT), release: script(RELEASE_SCRIPT) };

/** An ioredis error as a log may show it: its `command` carries the arguments, an AUTH password among them. */
const loggable = (error: unknown) => ({ message: error instanceof Error ? error.message : String(error), code: (error as { code?: unknown } | undefined)?.code });

/**
 * Rate-limit windows and quota counters shared by every gateway through one Redis
 * (METERING_REDIS_URL), so N gateways admit exactly what one would. Each decision is one Lua
 * script, atomic in Redis, run by its hash: the scripts are loaded on every (re)connection, and
 * `ready` waits for that, so no command is ever re-sent as source behind later ones. Commands fail
 * fast (no offline queue, METERING_REDIS_TIMEOUT_MS). While `ready` is false, metering counts in
 * each process as without Redis (and MeteringService pauses the shared counters after a failure).
 */
export class SharedCounters {
  private readonly logger = new Logger(SharedCounters.name);
  private readonly redis: Redis;
  private scriptsLoaded = false;
  private loadFailures = 0;
  private loadRetry: NodeJS.Timeout | undefined;
  /** Releases Redis did not take, sent again after the next connection loads the scripts. */
  private readonly unreleased: Hold[] = [];
  /** Hold ids are this gateway's id and a count, unique among gateways without random bytes per call. */
  private readonly instance = randomUUID();
  private admissions = 0;
  /** The scripts' loading after the latest connection (never rejects). */
  private loading: Promise<void> = Promise.resolve();
  /** Whether the last state logged was "connected" (so an outage is logged once, not per error). */
  private connected = false;
  private outageLogged = false;

  /**
   * `holdLifetimeMs`: how long a call's hold on its quotas lasts when its gateway dies before giving
   * it back; longer than any call runs, so a live call never loses its hold.
   */
  constructor(
    url: string,
    private readonly prefix: string,
    timeoutMs: number,
    private readonly holdLifetimeMs: number,
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
      this.loading = this.loadScripts();
    });
    this.redis.on('error', (error: Error) => this.lost(error));
    this.redis.on('close', () => {
      this.scriptsLoaded = false;
    });
  }

  get ready(): boolean {
    return this.scriptsLoaded && this.redis.status === 'ready';
  }

  /** Connects and loads the scripts; a gateway starts and meters on its own when Redis does not answer. */
  async connect(): Promise<void> {
    await this.redis.connect().catch((error: unknown) => this.lost(error));
    await this.loading;
  }

  close(): void {
    clearTimeout(this.loadRetry);
    this.redis.disconnect();
  }

  /**
   * Judges a call against its key's rate limit and its quotas in one script and, when it may run,
   * holds what it may use. A hold is given back by settle() or release().
   */
  async admit(call: SharedAdmission): Promise<SharedVerdict> {
    const cells = [...new Set(call.rules.map((rule) => rule.cell))];
    const keys = [this.key('rate', call.keyId), ...this.usageKeys(cells)];
    const hold: Hold = { id: `${this.instance}.${++this.admissions}`, cells };
    const args: (string | number)[] = [hold.id, this.holdLifetimeMs, call.wantedRecords, call.callsPerMinute, call.rules.length];
    for (const rule of call.rules) args.push(cells.indexOf(rule.cell) + 1, rule.metric, rule.limit);
    let answer: [string, ...number[]];
    try {
      answer = (await this.run(SCRIPTS.admit, keys, args)) as [string, ...number[]];
    } catch (error) {
      // It may have run in Redis after all (a timeout here): a hold nobody gives back would stall
      // every call on these counters until it lapses. The release follows it on the connection
      // (and never fails: one Redis does not take is sent again after the reconnection).
      if (cells.length > 0) void this.release(hold);
      throw error;
    }
    const [verdict, first, ...rest] = answer;
    if (verdict === 'seed') return { seed: true };
    if (verdict === 'rate') return { rateLimited: { retryAfterSeconds: Number(first) } };
    if (verdict === 'wait') return { wait: true };
    if (verdict === 'exhausted') return { exhausted: { rule: Number(first) - 1, used: Number(rest[0]) } };
    const records = Number(first);
    return { grant: { records: records < 0 ? Number.POSITIVE_INFINITY : records, used: rest.map(Number), hold: { ...hold, records: Math.max(records, 0) } } };
  }

  /** Sets the cells Redis does not hold yet; cells another gateway seeded first keep their count. */
  async seed(seeds: CellSeed[]): Promise<void> {
    await this.run(
      SCRIPTS.seed,
      seeds.map((seed) => this.key('usage', seed.cell)),
      seeds.flatMap((seed) => [seed.calls, seed.records, seed.expiresAtMs]),
    );
  }

  /**
   * Counts a recorded call on its cells (or takes back a record never stored, with negative amounts)
   * and gives back the hold it was admitted with, in one script. Never fails: a hold Redis did not
   * take back is released again after the reconnection; a count it missed is raised from ClickHouse
   * by the next refresh once the record is stored.
   */
  async settle(cells: string[], amount: Tally, hold?: GrantedHold): Promise<void> {
    // SETTLE_SCRIPT's order: the cells counted that carry the hold, those only counted, those only carrying it.
    const counted = [...new Set(cells)];
    const carrying = hold?.cells ?? [];
    const both = counted.filter((cell) => carrying.includes(cell));
    const keys = this.usageKeys([...both, ...counted.filter((cell) => !carrying.includes(cell)), ...carrying.filter((cell) => !counted.includes(cell))]);
    const args = [amount.calls, amount.records, both.length, counted.length, hold?.id ?? '', -(hold?.records ?? 0)];
    await this.run(SCRIPTS.settle, keys, args).catch(() => {
      if (hold) this.keepUnreleased(hold);
    });
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
    for (const key of this.usageKeys(cells)) pipeline.hmget(key, 'calls', 'records');
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, values]) => {
      if (error) throw error;
      const [calls, records] = values as (string | null)[];
      return calls === null ? undefined : { calls: Number(calls), records: Number(records ?? 0) };
    });
  }

  /**
   * Gives a call's holds back; never fails. A release Redis did not take (the connection dropped)
   * is kept and sent once the scripts are loaded on the next connection, so a hold outlives its
   * call only while Redis is away.
   */
  async release(hold: Hold): Promise<void> {
    await this.run(SCRIPTS.release, this.usageKeys(hold.cells), [hold.id]).catch(() => this.keepUnreleased(hold));
  }

  private keepUnreleased(hold: Hold): void {
    if (this.unreleased.length < MAX_UNRELEASED) this.unreleased.push(hold);
  }

  private async releaseLeftovers(): Promise<void> {
    const leftovers = this.unreleased.splice(0);
    for (const hold of leftovers) await this.release(hold);
  }

  private usageKeys(cells: string[]): string[] {
    return cells.map((cell) => this.key('usage', cell));
  }

  private key(kind: 'rate' | 'usage', id: string): string {
    return `${this.prefix}${kind}:${id}`;
  }

  /**
   * Runs a loaded script; a failure is the caller's to handle. After a timeout the connection stays:
   * commands sent after one (a release of a timed-out admission) run after it, in order.
   */
  private async run(script: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (error) {
      // Its scripts were flushed (SCRIPT FLUSH): not ready until they are loaded again.
      if (error instanceof Error && error.message.startsWith('NOSCRIPT') && this.scriptsLoaded) {
        this.scriptsLoaded = false;
        this.loading = this.loadScripts();
      }
      throw error;
    }
  }

  private async loadScripts(): Promise<void> {
    clearTimeout(this.loadRetry);
    try {
      await Promise.all(Object.values(SCRIPTS).map((each) => this.redis.script('LOAD', each.source)));
      this.scriptsLoaded = true;
      this.loadFailures = 0;
      this.connected = true;
      this.logger.log('shared metering counters (Redis) connected: rate limits and quotas are exact across gateways');
      await this.releaseLeftovers();
    } catch (error) {
      this.lost(error);
      // Refused (an ACL without SCRIPT, a proxy) or cut: tried again later, backing off to a minute;
      // a new connection tries at once.
      const delay = Math.min(1000 * 2 ** this.loadFailures++, 60_000);
      this.loadRetry = setTimeout(() => {
        if (this.redis.status === 'ready' && !this.scriptsLoaded) this.loading = this.loadScripts();
      }, delay).unref();
    }
  }

  /** Logs the first failure of an outage (and a failure at start), without the command's arguments. */
  private lost(error: unknown): void {
    if (!this.connected && this.outageLogged) return;
    this.connected = false;
    this.outageLogged = true;
    this.logger.warn({ err: loggable(error) }, 'shared metering counters (Redis) unavailable: each gateway counts on its own until it answers');
  }
}
