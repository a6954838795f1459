import type { CurrentPeriods, PeriodKind } from './quota-periods.js';
import { periodIdsOf } from './quota-periods.js';

/** What quota counters count, per subject and period. */
export interface Tally {
  calls: number;
  records: number;
}

export type Metric = keyof Tally;
export type SubjectKind = 'key' | 'user';

/** One counter: a subject (a key or a user) in one period (a UTC day or month). */
export interface Counter {
  subject: SubjectKind;
  subjectId: string;
  period: PeriodKind;
  metric: Metric;
  /** The ledger's cell for the current period, kept on the counter so a call builds no strings. */
  cell?: { periodId: string; name: string };
}

/** A usage record as the ledger sees it. */
export interface CountedCall {
  userId: string;
  keyId: string;
  recordCount: number;
  /** Unix seconds. */
  createdAt: number;
}

/** ClickHouse's counts for one key of a user over the current periods. */
export interface StoredKeyUsage {
  keyId: string;
  dayCalls: number;
  dayRecords: number;
  monthCalls: number;
  monthRecords: number;
}

const cellOf = (periodId: string, subject: SubjectKind, subjectId: string) => `${periodId}|${subject}|${subjectId}`;

/** The name of a counter's cell in the current periods (also its name in the shared counters). */
export function cellOfCounter(counter: Counter, periods: CurrentPeriods): string {
  const periodId = periods[counter.period].id;
  if (counter.cell?.periodId !== periodId) counter.cell = { periodId, name: cellOf(periodId, counter.subject, counter.subjectId) };
  return counter.cell.name;
}

const lifetimeCellOf = (userId: string) => cellOf('all', 'user', userId);

/** The cells a recorded call counts on: its key's and its user's, for its day and its month, and its user's of all time (a query pack's). */
export function cellsOfCall(call: CountedCall): string[] {
  const { day, month } = periodIdsOf(call.createdAt);
  return [cellOf(day, 'key', call.keyId), cellOf(day, 'user', call.userId), cellOf(month, 'key', call.keyId), cellOf(month, 'user', call.userId), lifetimeCellOf(call.userId)];
}

function add(cells: Map<string, Tally>, cell: string, calls: number, records: number): void {
  const tally = cells.get(cell);
  if (tally) {
    tally.calls += calls;
    tally.records += records;
  } else {
    cells.set(cell, { calls, records });
  }
}

function subtract(cells: Map<string, Tally>, cell: string, calls: number, records: number): void {
  const tally = cells.get(cell);
  if (!tally) return;
  tally.calls -= calls;
  tally.records -= records;
  if (tally.calls <= 0 && tally.records <= 0) cells.delete(cell);
}

/**
 * The quota counters of one process: for every (subject, period) what ClickHouse holds (read when
 * the user is first seen, re-read every QUOTA_REFRESH_SECONDS, plus what this process confirmed
 * storing since), what this process spooled that ClickHouse has not confirmed yet, and what calls
 * under way have reserved. Stored and spooled never overlap: a read of ClickHouse never runs while
 * an insert does (UsageWriter.whileNoInsertRuns), and a record moves from spooled to stored when
 * its insert is confirmed. So a counter is exactly the usage log's count, spool included.
 */
export class UsageLedger {
  private readonly stored = new Map<string, Tally>();
  private readonly spooled = new Map<string, Tally>();
  private readonly reserved = new Map<string, Tally>();
  /** The stored cells of each user, replaced whole by a re-read. */
  private readonly storedCellsOfUser = new Map<string, Set<string>>();
  /** Calls waiting for a reservation to be released (a promise is made only when one waits). */
  private waiting: (() => void)[] = [];

  /** Usage of a counter: stored plus spooled (the usage log, spool included); `reserved` adds calls under way. */
  used(counter: Counter, periods: CurrentPeriods): number {
    const cell = cellOfCounter(counter, periods);
    return (this.stored.get(cell)?.[counter.metric] ?? 0) + (this.spooled.get(cell)?.[counter.metric] ?? 0);
  }

  /** Both metrics of a cell: stored plus spooled. */
  usageOfCell(cell: string): Tally {
    const stored = this.stored.get(cell);
    const spooled = this.spooled.get(cell);
    return { calls: (stored?.calls ?? 0) + (spooled?.calls ?? 0), records: (stored?.records ?? 0) + (spooled?.records ?? 0) };
  }

  /** Every cell of these users that ClickHouse's counts were read for, with its usage. */
  cellsOfUsers(userIds: Iterable<string>): (Tally & { cell: string })[] {
    const cells: (Tally & { cell: string })[] = [];
    for (const userId of userIds) for (const cell of this.storedCellsOfUser.get(userId) ?? []) cells.push({ cell, ...this.usageOfCell(cell) });
    return cells;
  }

  reservedFor(counter: Counter, periods: CurrentPeriods): number {
    return this.reserved.get(cellOfCounter(counter, periods))?.[counter.metric] ?? 0;
  }

  /** Holds calls/records for a call under way on these counters; release() gives them back. */
  reserve(counters: Counter[], periods: CurrentPeriods, amount: Tally): () => void {
    const cells = [...new Set(counters.map((counter) => cellOfCounter(counter, periods)))];
    for (const cell of cells) add(this.reserved, cell, amount.calls, amount.records);
    return () => {
      for (const cell of cells) subtract(this.reserved, cell, amount.calls, amount.records);
      if (this.waiting.length === 0) return;
      const waiting = this.waiting;
      this.waiting = [];
      for (const wake of waiting) wake();
    };
  }

  /** Resolves when some reservation is released (a waiting call then looks again). */
  nextRelease(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** A record reached the spool. */
  spool(call: CountedCall): void {
    for (const cell of cellsOfCall(call)) add(this.spooled, cell, 1, call.recordCount);
  }

  /** ClickHouse confirmed storing these records: counted as stored now (for users whose counts are held). */
  store(call: CountedCall): void {
    const tracked = this.storedCellsOfUser.get(call.userId);
    const lifetime = lifetimeCellOf(call.userId);
    for (const cell of cellsOfCall(call)) {
      subtract(this.spooled, cell, 1, call.recordCount);
      // A user's all-time count is held only once read whole (see replaceStored): never a part of it.
      if (!tracked || (cell === lifetime && !tracked.has(cell))) continue;
      add(this.stored, cell, 1, call.recordCount);
      tracked.add(cell);
    }
  }

  /** A spooled record will never be stored (ClickHouse refused it as malformed). */
  drop(call: CountedCall): void {
    for (const cell of cellsOfCall(call)) subtract(this.spooled, cell, 1, call.recordCount);
  }

  /**
   * Replaces what ClickHouse holds for a user in the current periods (a read taken while no insert
   * ran), and all time when `lifetime` was read too (users with a query pack). A read without it
   * keeps the all-time count a read with it found: reads overlap, and one that began before the
   * user's first pack call may end after the read that counted all their records.
   */
  replaceStored(userId: string, keys: StoredKeyUsage[], periods: CurrentPeriods, lifetime?: Tally): void {
    const allTimeCell = cellOf(periods.all.id, 'user', userId);
    const allTime = lifetime ?? (this.storedCellsOfUser.get(userId)?.has(allTimeCell) ? this.stored.get(allTimeCell) : undefined);
    this.forgetStored(userId);
    const cells = new Set<string>();
    const put = (periodId: string, subject: SubjectKind, subjectId: string, calls: number, records: number) => {
      const cell = cellOf(periodId, subject, subjectId);
      add(this.stored, cell, calls, records);
      cells.add(cell);
    };
    for (const key of keys) {
      put(periods.day.id, 'key', key.keyId, key.dayCalls, key.dayRecords);
      put(periods.month.id, 'key', key.keyId, key.monthCalls, key.monthRecords);
      put(periods.day.id, 'user', userId, key.dayCalls, key.dayRecords);
      put(periods.month.id, 'user', userId, key.monthCalls, key.monthRecords);
    }
    if (allTime) put(periods.all.id, 'user', userId, allTime.calls, allTime.records);
    this.storedCellsOfUser.set(userId, cells);
  }

  forgetStored(userId: string): void {
    for (const cell of this.storedCellsOfUser.get(userId) ?? []) this.stored.delete(cell);
    this.storedCellsOfUser.delete(userId);
  }
}
