/**
 * Quota periods are UTC calendar days and months, whatever the database's or the host's timezone:
 * a quota resets at 00:00 UTC (day) and on the 1st at 00:00 UTC (month). A query pack counts all
 * time ('all') and never resets.
 */
export type PeriodKind = 'day' | 'month' | 'all';

export interface Period {
  kind: PeriodKind;
  /** "2026-11-26" or "2026-11". */
  id: string;
  start: Date;
  /** The next period's start: when this period's quota resets. */
  end: Date;
  /** `end` as clients see it (ISO 8601, second precision); null for a period that never ends. */
  resetsAt: string | null;
}

export interface CurrentPeriods {
  day: Period;
  month: Period;
  all: Period;
}

/** All time: the period of a query pack, which holds its records until they are used, whenever. */
const ALL_TIME: Period = Object.freeze({ kind: 'all', id: 'all', start: new Date(0), end: new Date(8.64e15), resetsAt: null });

function period(kind: PeriodKind, start: Date, end: Date): Period {
  return { kind, id: start.toISOString().slice(0, kind === 'day' ? 10 : 7), start, end, resetsAt: end.toISOString().replace('.000Z', 'Z') };
}

export function periodsAt(now: Date): CurrentPeriods {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  const date = now.getUTCDate();
  return {
    day: period('day', new Date(Date.UTC(year, month, date)), new Date(Date.UTC(year, month, date + 1))),
    month: period('month', new Date(Date.UTC(year, month, 1)), new Date(Date.UTC(year, month + 1, 1))),
    all: ALL_TIME,
  };
}

let lastDay: CurrentPeriods | undefined;

/** The ids of the day and month an instant (unix seconds) falls in; records of one day share one computation. */
export function periodIdsOf(unixSeconds: number): { day: string; month: string } {
  const ms = unixSeconds * 1000;
  if (!lastDay || ms < lastDay.day.start.getTime() || ms >= lastDay.day.end.getTime()) lastDay = periodsAt(new Date(ms));
  return { day: lastDay.day.id, month: lastDay.month.id };
}
