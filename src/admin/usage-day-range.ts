import { BadRequestException } from '@nestjs/common';
import { FIRST_DAY, parseIsoDate } from '../clickhouse/sql.js';

const DAY_MS = 86_400_000;
/** Without start_date: the last 30 days, end_date included. */
export const DEFAULT_RANGE_DAYS = 30;
/** A leap year: a year's summary fits, and one request cannot scan the whole table. */
export const MAX_RANGE_DAYS = 366;

export interface DayRangeQuery {
  start_date?: string;
  end_date?: string;
}

/** Whole UTC days, inclusive; `from` and `until` (exclusive) are the instants created_at is compared with. */
export interface DayRange {
  startDate: string;
  endDate: string;
  from: Date;
  until: Date;
}

const isoDay = (day: Date) => day.toISOString().slice(0, 10);
const startOfUtcDay = (at: Date) => new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);

/** A 400 in the shape the validation pipe uses, naming the parameter. */
function badParameter(field: keyof DayRangeQuery, message: string): BadRequestException {
  return new BadRequestException({ detail: `Validation failed: ${message}`, errors: [{ field, messages: [message] }] });
}

/**
 * The UTC days a usage summary covers. Dates are already YYYY-MM-DD within the Date range (the
 * DTO checks that); this applies the defaults (end_date today, start_date 29 days before it, never
 * before 1970-01-01) and refuses an inverted or over-long range, naming the parameter the caller
 * sent (end_date when both were sent).
 */
export function resolveDayRange(query: DayRangeQuery, now = new Date()): DayRange {
  const end = query.end_date === undefined ? startOfUtcDay(now) : parseIsoDate(query.end_date);
  const start = query.start_date === undefined ? new Date(Math.max(end.getTime() - (DEFAULT_RANGE_DAYS - 1) * DAY_MS, Date.parse(FIRST_DAY))) : parseIsoDate(query.start_date);
  const blamed = query.end_date === undefined ? 'start_date' : 'end_date';
  const endNote = query.end_date === undefined ? ' (end_date defaults to today, UTC)' : '';
  if (end < start) throw badParameter(blamed, `end_date ${isoDay(end)} is before start_date ${isoDay(start)}${endNote}`);
  const days = (end.getTime() - start.getTime()) / DAY_MS + 1;
  if (days > MAX_RANGE_DAYS) throw badParameter(blamed, `start_date to end_date spans ${days} days; at most ${MAX_RANGE_DAYS} are allowed${endNote}`);
  return { startDate: isoDay(start), endDate: isoDay(end), from: start, until: new Date(end.getTime() + DAY_MS) };
}
