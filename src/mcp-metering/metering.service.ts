import { setTimeout as delay } from 'node:timers/promises';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { GateFullError } from '../common/bounded-gate.js';
import { CLOCK, type Clock } from '../common/clock.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { QUOTA_KINDS, QUOTA_NAMES } from '../config/settings.js';
import { type KeyPolicy, quotaOf } from '../mcp-keys/key-policy.js';
import type { UsageRecord } from '../mcp-usage/usage-record.js';
import { type UsageListener, UsageWriter } from '../mcp-usage/usage-writer.js';
import { type MeteredQuota, QuotaExhaustedError, type QuotaState } from './quota-exhausted.error.js';
import { type CurrentPeriods, type PeriodKind, periodsAt } from './quota-periods.js';
import { RateLimitedError } from './rate-limited.error.js';
import { RateLimiter } from './rate-limiter.js';
import { type CellSeed, type GrantedHold, SharedCounters, type SharedRule } from './shared-counters.js';
import { UsageCountsRepository } from './usage-counts.repository.js';
import { type Counter, type CountedCall, cellOfCounter, cellsOfCall, type Metric, type SubjectKind, type Tally, UsageLedger } from './usage-ledger.js';

/** A verified key as metering needs it. */
export interface MeteredKey {
  keyId: string;
  userId: string;
  policy: KeyPolicy;
  /** A management-platform token's query pack: the records its user may have in the usage log, all time. */
  packRecords?: number;
}

/**
 * A tools/call admitted once (rate limit, quotas, and what it may return decided together),
 * carried with the call and settled once when its record is spooled.
 */
export interface MeteredCall {
  /** undefined: no record quota applies (the tool's own cap does). */
  readonly maxRows: number | undefined;
  /** Its record is spooled: the call is counted and its hold given back (with shared counters, in one Redis script). */
  settle(record: UsageRecord): void;
  /** Gives the hold back if the call was never settled (it did not run, or its record could not be kept); else nothing. */
  end(): void;
  /** The key's quotas after this call: the counts its admission was judged on, plus the call itself. */
  quotasAfter(recordCount: number): QuotaState[];
}

interface QuotaRule {
  quota: MeteredQuota;
  scope: SubjectKind;
  limit: number;
  counter: Counter;
}

type Verdict = { grant: number; used: number[] } | { exhausted: QuotaState } | { wait: true };

/** The quota kinds settings and policies set, and a query pack's, which only a platform token carries. */
const METERED_KINDS: Record<MeteredQuota, { counts: Metric; period: PeriodKind }> = { ...QUOTA_KINDS, pack_records: { counts: 'records', period: 'all' } };
/** A call no rate limit or quota applies to, on a gateway without shared counters: nothing to count. */
const UNMETERED: MeteredCall = Object.freeze({ maxRows: undefined, settle: () => undefined, end: () => undefined, quotasAfter: () => [] });
/** Users per ClickHouse read of their counters (an IN list on the log's sort key). */
const USERS_PER_READ = 500;
/** How long a call waits for holds of calls under way before it is answered "busy, retry shortly". */
const SHARED_WAIT_LIMIT_MS = 10_000;
/**
 * How soon a call waiting for quota that calls under way (on any gateway) hold looks again: from
 * 20 ms, doubling to 320 ms, with jitter, so many waiters do not poll Redis in step.
 */
const sharedWaitMs = (looks: number) => Math.min(20 * 2 ** looks, 320) * (0.5 + Math.random() / 2);
/** At most one warning per this interval while the shared counters fail. */
const SHARED_WARNING_INTERVAL_MS = 10_000;
/**
 * After a shared-counter decision fails (Redis errored or did not answer within
 * METERING_REDIS_TIMEOUT_MS), calls are metered in this process for this long; then one call at a
 * time tries Redis again: a Redis that hangs costs one timeout per pause, not one per call.
 */
const SHARED_PAUSE_MS = 5_000;
/** Seeds one admission may ask for: one per period that starts (a day, a month) in the middle of a call, and one more. */
const MAX_SEEDS_PER_CALL = 3;
/** A cell outlives its period by a day: records created just before midnight are counted just after it. */
const CELL_GRACE_MS = 86_400_000;
/** A pack's all-time cell lives this long in Redis after it is seeded (each refresh raises it to ClickHouse's count meanwhile). */
const LIFETIME_CELL_MS = 30 * 86_400_000;

const callOf = (record: UsageRecord): CountedCall => ({ userId: record.user_id, keyId: record.api_key_id, recordCount: record.record_count, createdAt: record.created_at });
/** What a recorded call adds to its cells; `sign` -1 takes back a record never stored. */
const tallyOf = (call: CountedCall, sign: 1 | -1 = 1): Tally => ({ calls: sign, records: sign * call.recordCount });

/**
 * Rate limits and quotas. Rate limits are per key and per process (RateLimiter). Quotas count the
 * usage log exactly: a user's counts are read from ClickHouse when their key is verified (never on
 * a call with a cached key) and re-read every QUOTA_REFRESH_SECONDS for what other instances wrote;
 * in between, the usage writer reports every record spooled and stored (UsageLedger). A call
 * reserves what it may use before it runs, so concurrent calls together never pass a quota.
 *
 * With METERING_REDIS_URL, rate limits and quotas are counted in Redis for every gateway at once
 * (SharedCounters): a quota's cell is seeded there from this process's counts when Redis does not
 * hold it, every recorded call is added to it, and each refresh raises it to what ClickHouse counts
 * (calls the original service recorded). While Redis does not answer, each process counts alone.
 *
 * A management-platform token's query pack is one more record quota of its user (the buyer), over
 * all time: the users with one are read with their all-time counts too, and kept so.
 */
@Injectable()
export class MeteringService implements UsageListener, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(MeteringService.name);
  private readonly ledger = new UsageLedger();
  private readonly rates: RateLimiter;
  /** Users whose stored counts the ledger holds, in recency order; the least recent are forgotten. */
  private readonly heldUsers: LRUCache<string, true>;
  /** Held users whose all-time counts (a query pack's) the ledger holds too, read again with every re-read. */
  private readonly lifetimeUsers = new Set<string>();
  private readonly reads = new Map<string, Promise<void>>();
  /** Reads that include all-time counts, apart: a read without them must not stand in for one. */
  private readonly lifetimeReads = new Map<string, Promise<void>>();
  /** Users to read again soon; many reports in a row (a batch shipped record by record) make one read. */
  private readonly rereads = new Set<string>();
  private readonly rulesOfPolicy = new WeakMap<KeyPolicy, Map<string, QuotaRule[]>>();
  private current: CurrentPeriods;
  private readonly refreshTimer: NodeJS.Timeout;
  private readonly shared: SharedCounters | undefined;
  private lastSharedWarning = 0;
  /** 0 while the shared counters are healthy; else when the pause after a failure ends. */
  private sharedPausedUntil = 0;
  /** After a pause, one decision at a time tries Redis (the others stay local until it answers). */
  private sharedProbing = false;
  /** Decisions made in this process because the shared counters failed (Redis timed out or errored). */
  private sharedFailures = 0;

  constructor(
    private readonly counts: UsageCountsRepository,
    private readonly writer: UsageWriter,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.rates = new RateLimiter(config.mcp.keyCacheMaxEntries);
    this.heldUsers = new LRUCache<string, true>({ max: config.mcp.keyCacheMaxEntries, noDisposeOnSet: true, dispose: (_, userId) => this.forgetUser(userId) });
    this.current = periodsAt(clock.now());
    writer.listen(this);
    this.refreshTimer = setInterval(() => void this.refresh(), config.metering.refreshSeconds * 1000).unref();
    const { redis } = config.metering;
    this.shared = redis && new SharedCounters(redis.url, redis.prefix, redis.timeoutMs, redis.holdLifetimeMs);
  }

  async onModuleInit(): Promise<void> {
    await this.shared?.connect();
  }

  onModuleDestroy(): void {
    clearInterval(this.refreshTimer);
    this.shared?.close();
  }

  /**
   * Whether rate limits and quotas are counted in Redis now: 'off' (METERING_REDIS_URL is not set),
   * 'connected', 'unreachable', or 'paused' for a few seconds after a command failed.
   */
  sharedCountersState(): { state: 'off' | 'connected' | 'unreachable' | 'paused'; failures: number } {
    const state = this.shared === undefined ? 'off' : !this.shared.ready ? 'unreachable' : this.sharedPausedUntil === 0 ? 'connected' : 'paused';
    return { state, failures: this.sharedFailures };
  }

  /** The key's rate limit: its own, else the default for keys; 0 for none. */
  callsPerMinute(key: MeteredKey): number {
    return key.policy.callsPerMinute ?? this.config.metering.defaultCallsPerMinute;
  }

  /** Whether the key's quotas need its user's counts read from ClickHouse first (see countKeyUser). */
  needsCounts(key: MeteredKey): boolean {
    return this.rulesFor(key).length > 0 && !this.holdsCountsFor(key);
  }

  /** Reads the counts the key's quotas need of its user (one read however many calls ask at once); part of verifying the key. */
  countKeyUser(key: MeteredKey): Promise<void> {
    const withLifetime = key.packRecords !== undefined;
    const reads = withLifetime ? this.lifetimeReads : this.reads;
    let read = reads.get(key.userId);
    if (!read) {
      read = this.readUsers([key.userId], withLifetime).finally(() => reads.delete(key.userId));
      reads.set(key.userId, read);
    }
    return read;
  }

  /** Counts the key's quotas are judged on are held: the user's, and all time for a pack. */
  private holdsCountsFor(key: MeteredKey): boolean {
    return this.heldUsers.get(key.userId) !== undefined && (key.packRecords === undefined || this.lifetimeUsers.has(key.userId));
  }

  private forgetUser(userId: string): void {
    this.ledger.forgetStored(userId);
    this.lifetimeUsers.delete(userId);
  }

  /**
   * Admits a tools/call once: its key's rate limit (RateLimitedError), then its quotas. It may
   * return at most what is left of every record quota (a call that would cross one returns what
   * fits, marked truncated). When what is left is held by calls under way, it waits for them; when
   * a quota is used up, QuotaExhaustedError. `wantedRecords` is the tool's own row cap (0 for a
   * call that reads nothing). With shared counters this is one Redis round trip, and settling the
   * call one more.
   */
  async admitCall(key: MeteredKey, wantedRecords: number): Promise<MeteredCall> {
    const rules = this.rulesFor(key);
    const callsPerMinute = this.callsPerMinute(key);
    if (rules.length === 0 && callsPerMinute <= 0) return this.shared ? this.admitted(undefined, [], [], this.periods(), (record) => record && this.chargeShared(callOf(record))) : UNMETERED;
    // Read when the key was verified; again only if the user was pushed out of the held users since
    // (more active users than MCP_KEY_CACHE_MAX_ENTRIES), so a call is never judged on partial counts.
    if (rules.length > 0 && !this.holdsCountsFor(key)) await this.countKeyUser(key);
    return this.withShared(
      (shared) => this.admitShared(shared, key, rules, wantedRecords, callsPerMinute),
      () => this.admitLocally(key, rules, wantedRecords, callsPerMinute),
    );
  }

  private async admitLocally(key: MeteredKey, rules: QuotaRule[], wantedRecords: number, callsPerMinute: number): Promise<MeteredCall> {
    const retryAfter = callsPerMinute > 0 ? this.rates.take(key.keyId, callsPerMinute, this.clock.now().getTime()) : 0;
    if (retryAfter > 0) throw new RateLimitedError(retryAfter, callsPerMinute);
    for (;;) {
      const periods = this.periods();
      const verdict = this.judge(rules, periods, wantedRecords);
      if ('exhausted' in verdict) throw new QuotaExhaustedError(verdict.exhausted);
      if ('grant' in verdict) {
        const limited = Number.isFinite(verdict.grant);
        const records = limited ? verdict.grant : 0;
        const release = this.ledger.reserve(rules.map((rule) => rule.counter), periods, { calls: 1, records });
        return this.admitted(limited ? records : undefined, rules, verdict.used, periods, (record) => {
          release();
          if (record) this.chargeShared(callOf(record));
        });
      }
      await this.ledger.nextRelease();
    }
  }

  /** As admitLocally, judged in Redis against every gateway's calls; waits by looking again shortly. */
  private async admitShared(shared: SharedCounters, key: MeteredKey, rules: QuotaRule[], wantedRecords: number, callsPerMinute: number): Promise<MeteredCall> {
    const started = Date.now();
    // The rate is counted by the first look that gets past the seeds; later looks only wait for quota.
    let rateToCount = callsPerMinute;
    for (let seeds = 0, looks = 0; ; ) {
      const periods = this.periods();
      const verdict = await shared.admit({ keyId: key.keyId, callsPerMinute: rateToCount, rules: this.sharedRules(rules, periods), wantedRecords });
      if ('seed' in verdict) {
        // Seeded cells exist until their period ends: a cell still missing after that means Redis drops keys (maxmemory).
        if (++seeds > MAX_SEEDS_PER_CALL) throw new Error('shared quota counters vanish as soon as they are seeded; check the Redis maxmemory policy');
        await shared.seed(this.seedsOf(rules, periods));
      } else if ('rateLimited' in verdict) throw new RateLimitedError(verdict.rateLimited.retryAfterSeconds, callsPerMinute);
      else if ('exhausted' in verdict) throw new QuotaExhaustedError(stateOf(rules[verdict.exhausted.rule], verdict.exhausted.used, periods));
      else if ('wait' in verdict) {
        rateToCount = 0;
        // Holds lapse only when their gateway died: a call does not wait that long for them.
        if (Date.now() - started > SHARED_WAIT_LIMIT_MS) throw new GateFullError();
        await delay(sharedWaitMs(looks++));
      } else {
        const { records, used, hold } = verdict.grant;
        return this.admitted(Number.isFinite(records) ? records : undefined, rules, used, periods, (record) => this.settleShared(shared, hold, record));
      }
    }
  }

  /** A call let through; `giveBack` runs once: with its record when it is settled, without when it ends unsettled. */
  private admitted(maxRows: number | undefined, rules: QuotaRule[], used: number[], periods: CurrentPeriods, giveBack: (record?: UsageRecord) => void): MeteredCall {
    let open = true;
    const close = (record?: UsageRecord) => {
      if (!open) return;
      open = false;
      giveBack(record);
    };
    return {
      maxRows,
      settle: (record) => close(record),
      end: () => close(),
      quotasAfter: (recordCount) => rules.map((rule, index) => stateOf(rule, used[index] + (rule.counter.metric === 'calls' ? 1 : recordCount), periods)),
    };
  }

  /** Counts the call's record in Redis and gives its hold back, in one script; without a record, only the hold. */
  private settleShared(shared: SharedCounters, hold: GrantedHold, record: UsageRecord | undefined): void {
    if (!record) {
      if (hold.cells.length > 0) void shared.release(hold);
      return;
    }
    const call = callOf(record);
    void shared.settle(cellsOfCall(call), tallyOf(call), hold);
  }

  /**
   * Counts a spooled record here. Its call counts it in Redis when it is settled (MeteredCall); a
   * record an earlier run left in the spool was counted there when that run spooled it.
   */
  spooled(record: UsageRecord): void {
    this.ledger.spool(callOf(record));
  }

  stored(records: UsageRecord[], outcomeWasUnknown: boolean): void {
    for (const record of records) this.ledger.store(callOf(record));
    // Some of these may have been in ClickHouse already when a user's counts were read: read again.
    if (outcomeWasUnknown) this.scheduleReread(records.map((record) => record.user_id));
  }

  private scheduleReread(userIds: string[]): void {
    const first = this.rereads.size === 0;
    for (const id of userIds) if (this.heldUsers.has(id)) this.rereads.add(id);
    if (!first || this.rereads.size === 0) return;
    setImmediate(() => {
      const ids = [...this.rereads];
      this.rereads.clear();
      void this.rereadUsers(ids);
    });
  }

  dropped(record: UsageRecord): void {
    const call = callOf(record);
    this.ledger.drop(call);
    this.chargeShared(call, -1);
  }

  /**
   * Re-reads every held user's counts: what other instances and the original service recorded.
   * Shared cells are raised to those counts where ClickHouse holds more than Redis.
   */
  async refresh(): Promise<void> {
    const userIds = [...this.heldUsers.keys()];
    await this.rereadUsers(userIds);
    if (this.shared?.ready && this.sharedPausedUntil === 0) await this.shared.raise(this.ledger.cellsOfUsers(userIds)).catch((error: unknown) => this.sharedFailed(error));
  }

  private async rereadUsers(userIds: string[]): Promise<void> {
    try {
      for (let start = 0; start < userIds.length; start += USERS_PER_READ) await this.readUsers(userIds.slice(start, start + USERS_PER_READ));
    } catch (error) {
      this.logger.warn({ err: error, users: userIds.length }, 'quota counters could not be re-read; keeping the last counts');
    }
  }

  /**
   * Taken while no usage insert runs, so the counts and the records still spooled here never
   * overlap. All-time counts are read for users held with them, and for all when `withLifetime`.
   */
  private async readUsers(userIds: string[], withLifetime = false): Promise<void> {
    await this.writer.whileNoInsertRuns(async () => {
      const periods = this.periods();
      const lifetimeOf = withLifetime ? userIds : userIds.filter((id) => this.lifetimeUsers.has(id));
      const [counts, lifetime] = await Promise.all([this.counts.countsByKey(userIds, periods), this.counts.lifetimeTotals(lifetimeOf)]);
      for (const [userId, keys] of counts) {
        const total = lifetime.get(userId);
        this.ledger.replaceStored(userId, keys, periods, total);
        this.heldUsers.set(userId, true);
        if (total) this.lifetimeUsers.add(userId);
      }
    });
  }

  /**
   * Counts a recorded call in Redis (or takes a dropped one back, `sign` -1), paused or not: no call waits for it. One that fails is
   * missing from Redis until ClickHouse stores the record and a refresh raises the counter.
   */
  private chargeShared(call: CountedCall, sign: 1 | -1 = 1): void {
    if (this.shared?.ready) void this.shared.settle(cellsOfCall(call), tallyOf(call, sign));
  }

  /** `viaShared` when Redis answers; `locally` when there is none, it does not answer, or it fails. */
  private async withShared<T>(viaShared: (shared: SharedCounters) => Promise<T>, locally: () => T | Promise<T>): Promise<T> {
    const use = this.sharedForDecision();
    if (use) {
      try {
        const result = await viaShared(use.shared);
        if (use.probe) this.sharedRecovered();
        return result;
      } catch (error) {
        // A refusal (over the rate, out of quota, or held by calls under way too long) is Redis answering.
        if (error instanceof RateLimitedError || error instanceof QuotaExhaustedError || error instanceof GateFullError) {
          if (use.probe) this.sharedRecovered();
          throw error;
        }
        this.sharedFailed(error);
      }
    }
    return locally();
  }

  /** The shared counters for a decision: none while Redis is away or paused; once a pause ends, one probe at a time. */
  private sharedForDecision(): { shared: SharedCounters; probe: boolean } | undefined {
    if (!this.shared?.ready) return undefined;
    if (this.sharedPausedUntil === 0) return { shared: this.shared, probe: false };
    if (Date.now() < this.sharedPausedUntil || this.sharedProbing) return undefined;
    this.sharedProbing = true;
    return { shared: this.shared, probe: true };
  }

  private sharedRecovered(): void {
    this.sharedPausedUntil = 0;
    this.sharedProbing = false;
  }

  private sharedFailed(error: unknown): void {
    this.sharedFailures++;
    const now = Date.now();
    this.sharedPausedUntil = now + SHARED_PAUSE_MS;
    this.sharedProbing = false;
    if (now - this.lastSharedWarning < SHARED_WARNING_INTERVAL_MS) return;
    this.lastSharedWarning = now;
    this.logger.warn({ err: error }, 'shared metering counters (Redis) failed; counting in this process for now');
  }

  private sharedRules(rules: QuotaRule[], periods: CurrentPeriods): SharedRule[] {
    return rules.map((rule) => ({ cell: cellOfCounter(rule.counter, periods), metric: rule.counter.metric, limit: rule.limit }));
  }

  /** The rules' cells as this process counts them (ClickHouse's counts and its own spool). */
  private seedsOf(rules: QuotaRule[], periods: CurrentPeriods): CellSeed[] {
    const seeds = new Map<string, CellSeed>();
    for (const { counter } of rules) {
      const cell = cellOfCounter(counter, periods);
      const expiresAtMs = counter.period === 'all' ? Date.now() + LIFETIME_CELL_MS : periods[counter.period].end.getTime() + CELL_GRACE_MS;
      seeds.set(cell, { cell, ...this.ledger.usageOfCell(cell), expiresAtMs });
    }
    return [...seeds.values()];
  }

  private judge(rules: QuotaRule[], periods: CurrentPeriods, wantedRecords: number): Verdict {
    let grant = Number.POSITIVE_INFINITY;
    let mustWait = false;
    const used = rules.map((rule) => this.ledger.used(rule.counter, periods));
    for (const [index, rule] of rules.entries()) {
      const { counter } = rule;
      if (counter.metric === 'records' && wantedRecords === 0) continue;
      if (used[index] >= rule.limit) return { exhausted: stateOf(rule, used[index], periods) };
      const free = rule.limit - used[index] - this.ledger.reservedFor(counter, periods);
      if (free <= 0) mustWait = true;
      else if (counter.metric === 'records') grant = Math.min(grant, free, wantedRecords);
    }
    return mustWait ? { wait: true } : { grant, used };
  }

  /** The key's quotas (its own, else the defaults for keys) and its user's totals; cached per verified policy. */
  private rulesFor(key: MeteredKey): QuotaRule[] {
    let byKey = this.rulesOfPolicy.get(key.policy);
    if (!byKey) this.rulesOfPolicy.set(key.policy, (byKey = new Map<string, QuotaRule[]>()));
    let rules = byKey.get(key.keyId);
    if (!rules) byKey.set(key.keyId, (rules = this.buildRules(key)));
    return rules;
  }

  private buildRules(key: MeteredKey): QuotaRule[] {
    const { keyQuotas, userQuotas } = this.config.metering;
    const rule = (quota: MeteredQuota, scope: SubjectKind, limit: number): QuotaRule => ({
      quota,
      scope,
      limit,
      counter: { subject: scope, subjectId: scope === 'key' ? key.keyId : key.userId, period: METERED_KINDS[quota].period, metric: METERED_KINDS[quota].counts },
    });
    // A pack counts every record of its user (the platform's buyer), as the original counts it.
    const pack = key.packRecords === undefined ? [] : [rule('pack_records', 'user', key.packRecords)];
    return [...QUOTA_NAMES.flatMap((quota) => [rule(quota, 'key', quotaOf(key.policy, quota) ?? keyQuotas[quota]), rule(quota, 'user', userQuotas[quota])]), ...pack].filter((r) => r.limit > 0);
  }

  private periods(): CurrentPeriods {
    const now = this.clock.now();
    if (now >= this.current.day.end || now < this.current.day.start) this.current = periodsAt(now);
    return this.current;
  }
}

function stateOf(rule: QuotaRule, used: number, periods: CurrentPeriods): QuotaState {
  const period = periods[rule.counter.period];
  return {
    quota: rule.quota,
    scope: rule.scope,
    limit: rule.limit,
    used,
    remaining: Math.max(0, rule.limit - used),
    period: period.kind,
    resets_at: period.resetsAt,
  };
}
