/**
 * Quota periods are UTC calendar days and months, whatever the database's or the host's timezone:
 * a quota resets at 00:00 UTC (day) and on the 1st at 00:00 UTC (month).
 */
export type PeriodKind = 'day' | 'month';

export interface Period {
  kind: PeriodKind;
  /** "2026-11-26" or "2026-11". */
  id: string;
  start: Date;
  /** The next period's start: when this period's quota resets. */
  end: Date;
}

export interface CurrentPeriods {
  day: Period;
  month: Period;
}

export function periodsAt(now: Date): CurrentPeriods {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  const date = now.getUTCDate();
  const dayStart = new Date(Date.UTC(year, month, date));
  const monthStart = new Date(Date.UTC(year, month, 1));
  return {
    day: { kind: 'day', id: dayStart.toISOString().slice(0, 10), start: dayStart, end: new Date(Date.UTC(year, month, date + 1)) },
    month: { kind: 'month', id: monthStart.toISOString().slice(0, 7), start: monthStart, end: new Date(Date.UTC(year, month + 1, 1)) },
  };
}

/** The ids of the day and month an instant (unix seconds) falls in. */
export function periodIdsOf(unixSeconds: number): { day: string; month: string } {
  const day = new Date(unixSeconds * 1000).toISOString().slice(0, 10);
  return { day, month: day.slice(0, 7) };
}
