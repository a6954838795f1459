import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { CLOCK, type Clock } from '../common/clock.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { type KeyPolicy, QUOTA_NAMES, type QuotaName, quotaOf } from '../mcp-keys/key-policy.js';
import type { UsageRecord } from '../mcp-usage/usage-record.js';
import { type UsageListener, UsageWriter } from '../mcp-usage/usage-writer.js';
import { QuotaExhaustedError, type QuotaState } from './quota-exhausted.error.js';
import { type CurrentPeriods, type PeriodKind, periodsAt } from './quota-periods.js';
import { RateLimiter } from './rate-limiter.js';
import { UsageCountsRepository } from './usage-counts.repository.js';
import { type Counter, type CountedCall, type Metric, type SubjectKind, UsageLedger } from './usage-ledger.js';

/** A verified key as metering needs it. */
export interface MeteredKey {
  keyId: string;
  userId: string;
  policy: KeyPolicy;
}

/** A call let through: how many rows it may return, and the hold on its quotas to give back when it ends. */
export interface Admission {
  /** undefined: no record quota applies (the tool's own cap does). */
  maxRows: number | undefined;
  release(): void;
}

interface QuotaRule {
  quota: QuotaName;
  scope: SubjectKind;
  limit: number;
  counter: Counter;
}

type Verdict = { grant: number } | { exhausted: QuotaState } | { wait: true };

const QUOTA_PERIOD: Record<QuotaName, PeriodKind> = { records_per_day: 'day', records_per_month: 'month', calls_per_day: 'day' };
const QUOTA_METRIC: Record<QuotaName, Metric> = { records_per_day: 'records', records_per_month: 'records', calls_per_day: 'calls' };
const UNMETERED: Admission = Object.freeze({ maxRows: undefined, release: () => undefined });
/** Users per ClickHouse read of their counters (an IN list on the log's sort key). */
const USERS_PER_READ = 500;

const callOf = (record: UsageRecord): CountedCall => ({ userId: record.user_id, keyId: record.api_key_id, recordCount: record.record_count, createdAt: record.created_at });

/**
 * Rate limits and quotas. Rate limits are per key and per process (RateLimiter). Quotas count the
 * usage log exactly: a user's counts are read from ClickHouse when their key is verified (never on
 * a call with a cached key) and re-read every QUOTA_REFRESH_SECONDS for what other instances wrote;
 * in between, the usage writer reports every record spooled and stored (UsageLedger). A call
 * reserves what it may use before it runs, so concurrent calls together never pass a quota.
 */
@Injectable()
export class MeteringService implements UsageListener, OnModuleDestroy {
  private readonly logger = new Logger(MeteringService.name);
  private readonly ledger = new UsageLedger();
  private readonly rates: RateLimiter;
  /** Users whose stored counts the ledger holds, in recency order; the least recent are forgotten. */
  private readonly heldUsers: LRUCache<string, true>;
  private readonly reads = new Map<string, Promise<void>>();
  /** Users to read again soon; many reports in a row (a batch shipped record by record) make one read. */
  private readonly rereads = new Set<string>();
  private readonly rulesOfPolicy = new WeakMap<KeyPolicy, Map<string, QuotaRule[]>>();
  private current: CurrentPeriods;
  private readonly refreshTimer: NodeJS.Timeout;

  constructor(
    private readonly counts: UsageCountsRepository,
    private readonly writer: UsageWriter,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.rates = new RateLimiter(config.mcp.keyCacheMaxEntries);
    this.heldUsers = new LRUCache<string, true>({ max: config.mcp.keyCacheMaxEntries, noDisposeOnSet: true, dispose: (_, userId) => this.ledger.forgetStored(userId) });
    this.current = periodsAt(clock.now());
    writer.listen(this);
    this.refreshTimer = setInterval(() => void this.refresh(), config.metering.refreshSeconds * 1000).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.refreshTimer);
  }

  /** Counts a call against the key's rate limit: 0, or the seconds to wait when it is over. */
  takeRateToken(key: MeteredKey): number {
    const limit = this.callsPerMinute(key);
    return limit > 0 ? this.rates.take(key.keyId, limit, this.clock.now().getTime()) : 0;
  }

  /** The key's rate limit: its own, else the default for keys; 0 for none. */
  callsPerMinute(key: MeteredKey): number {
    return key.policy.callsPerMinute ?? this.config.metering.defaultCallsPerMinute;
  }

  /** Whether the key's quotas need its user's counts read from ClickHouse first (see countUser). */
  needsCounts(key: MeteredKey): boolean {
    return this.rulesFor(key).length > 0 && !this.heldUsers.get(key.userId);
  }

  /** Reads a user's counts (one read however many calls ask at once); part of verifying their key. */
  countUser(userId: string): Promise<void> {
    let read = this.reads.get(userId);
    if (!read) {
      read = this.readUsers([userId]).finally(() => this.reads.delete(userId));
      this.reads.set(userId, read);
    }
    return read;
  }

  /** The first quota of the key that is used up, if any; the call is refused before it runs. */
  exhaustedQuota(key: MeteredKey, readsRecords: boolean): QuotaState | undefined {
    // Without the user's counts held, admit() reads them and judges the call.
    if (!this.heldUsers.has(key.userId)) return undefined;
    const periods = this.periods();
    for (const rule of this.rulesFor(key)) {
      if (!readsRecords && rule.counter.metric === 'records') continue;
      const used = this.ledger.used(rule.counter, periods);
      if (used >= rule.limit) return stateOf(rule, used, periods);
    }
    return undefined;
  }

  /**
   * Lets a call run within the key's quotas: it may return at most what is left of every record
   * quota (a call that would cross one returns what fits, marked truncated). When what is left is
   * held by calls under way, it waits for them; when a quota is used up, QuotaExhaustedError.
   * `wantedRecords` is the tool's own row cap (0 for a call that reads nothing).
   */
  async admit(key: MeteredKey, wantedRecords: number): Promise<Admission> {
    const rules = this.rulesFor(key);
    if (rules.length === 0) return UNMETERED;
    // Read when the key was verified; again only if the user was pushed out of the held users since
    // (more active users than MCP_KEY_CACHE_MAX_ENTRIES), so a call is never judged on partial counts.
    if (!this.heldUsers.get(key.userId)) await this.countUser(key.userId);
    for (;;) {
      const periods = this.periods();
      const verdict = this.judge(rules, periods, wantedRecords);
      if ('exhausted' in verdict) throw new QuotaExhaustedError(verdict.exhausted);
      if ('grant' in verdict) {
        const limited = Number.isFinite(verdict.grant);
        const records = limited ? verdict.grant : 0;
        return { maxRows: limited ? records : undefined, release: this.ledger.reserve(rules.map((rule) => rule.counter), periods, { calls: 1, records }) };
      }
      await this.ledger.nextRelease();
    }
  }

  /** Every quota of the key as it stands now (after the call just recorded). */
  quotaStates(key: MeteredKey): QuotaState[] {
    const periods = this.periods();
    return this.rulesFor(key).map((rule) => stateOf(rule, this.ledger.used(rule.counter, periods), periods));
  }

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
    this.ledger.drop(callOf(record));
  }

  /** Re-reads every held user's counts: what other instances and the original service recorded. */
  async refresh(): Promise<void> {
    await this.rereadUsers([...this.heldUsers.keys()]);
  }

  private async rereadUsers(userIds: string[]): Promise<void> {
    try {
      for (let start = 0; start < userIds.length; start += USERS_PER_READ) await this.readUsers(userIds.slice(start, start + USERS_PER_READ));
    } catch (error) {
      this.logger.warn({ err: error, users: userIds.length }, 'quota counters could not be re-read; keeping the last counts');
    }
  }

  /** Taken while no usage insert runs, so the counts and the records still spooled here never overlap. */
  private async readUsers(userIds: string[]): Promise<void> {
    await this.writer.whileNoInsertRuns(async () => {
      const periods = this.periods();
      const counts = await this.counts.countsByKey(userIds, periods);
      for (const [userId, keys] of counts) {
        this.ledger.replaceStored(userId, keys, periods);
        this.heldUsers.set(userId, true);
      }
    });
  }

  private judge(rules: QuotaRule[], periods: CurrentPeriods, wantedRecords: number): Verdict {
    let grant = Number.POSITIVE_INFINITY;
    let mustWait = false;
    for (const rule of rules) {
      const { counter } = rule;
      if (counter.metric === 'records' && wantedRecords === 0) continue;
      const used = this.ledger.used(counter, periods);
      if (used >= rule.limit) return { exhausted: stateOf(rule, used, periods) };
      const free = rule.limit - used - this.ledger.reservedFor(counter, periods);
      if (free <= 0) mustWait = true;
      else if (counter.metric === 'records') grant = Math.min(grant, free, wantedRecords);
    }
    return mustWait ? { wait: true } : { grant };
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
    const rule = (quota: QuotaName, scope: SubjectKind, limit: number): QuotaRule => ({
      quota,
      scope,
      limit,
      counter: { subject: scope, subjectId: scope === 'key' ? key.keyId : key.userId, period: QUOTA_PERIOD[quota], metric: QUOTA_METRIC[quota] },
    });
    return QUOTA_NAMES.flatMap((quota) => [rule(quota, 'key', quotaOf(key.policy, quota) ?? keyQuotas[quota]), rule(quota, 'user', userQuotas[quota])]).filter((r) => r.limit > 0);
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
