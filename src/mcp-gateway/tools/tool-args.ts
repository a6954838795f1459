import { z } from 'zod';
import { type Sql, date, join, parseIsoDate, sql, str } from '../../clickhouse/sql.js';
import { echo } from '../../common/echo.js';

const TS_CODE = /^\d{6}\.(SZ|SH|BJ)$/i;
const DATE_INPUT = /^(\d{8}|\d{4}-\d{2}-\d{2})$/;
const FIRST_YEAR = 1990;
const LAST_YEAR = 2100;

/** A security code such as 000001.SZ; accepted in any case, normalized to upper case. */
export function tsCodeArg(description: string) {
  return z
    .string()
    .trim()
    .regex(TS_CODE, { error: (issue) => `Invalid ts_code ${echo(issue.input)}: expected six digits and .SZ, .SH or .BJ, e.g. 000001.SZ` })
    .toUpperCase()
    .describe(description);
}

function toIsoDate(value: string): string {
  return value.length === 8 ? `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6)}` : value;
}

function isCalendarDate(isoDate: string): boolean {
  try {
    parseIsoDate(isoDate);
    return true;
  } catch {
    return false;
  }
}

function isInSupportedYears(isoDate: string): boolean {
  const year = Number(isoDate.slice(0, 4));
  return year >= FIRST_YEAR && year <= LAST_YEAR;
}

/**
 * A trading day as YYYY-MM-DD or YYYYMMDD (the original system's form), normalized to YYYY-MM-DD.
 * Each check aborts the next so a caller sees the one problem that matters.
 */
export function dateArg(description: string) {
  return z
    .string()
    .regex(DATE_INPUT, { error: (issue) => `Invalid date ${echo(issue.input)}: use YYYY-MM-DD or YYYYMMDD`, abort: true })
    .overwrite(toIsoDate)
    .refine(isCalendarDate, { error: (issue) => `Invalid date ${echo(issue.input)}: no such day`, abort: true })
    .refine(isInSupportedYears, { error: (issue) => `Invalid date ${echo(issue.input)}: the year must be between ${FIRST_YEAR} and ${LAST_YEAR}` })
    .describe(description);
}

export interface DateRange {
  start_date?: string;
  end_date?: string;
}

/** Object-level check for tools with a date range (pass to `.superRefine`); reported on end_date. */
export function requireStartNotAfterEnd(range: DateRange, ctx: z.RefinementCtx): void {
  if (range.start_date && range.end_date && range.start_date > range.end_date) {
    ctx.addIssue({ code: 'custom', message: `start_date ${range.start_date} is after end_date ${range.end_date}`, path: ['end_date'] });
  }
}

/** `column >= start AND column <= end` for the bounds that are present; column is fixed text from the tool. */
export function dateRangeConditions(column: Sql, range: DateRange): Sql[] {
  return [
    ...(range.start_date ? [sql`${column} >= ${date(range.start_date)}`] : []),
    ...(range.end_date ? [sql`${column} <= ${date(range.end_date)}`] : []),
  ];
}

/** A WHERE body that matches every row when a tool has no filter. */
export function allOf(conditions: Sql[]): Sql {
  return conditions.length > 0 ? join(conditions, ' AND ') : sql`1`;
}

/** Arguments of the per-stock time-series tools (daily bars, daily valuation, ...). */
export const stockHistoryInput = z
  .object({
    ts_code: tsCodeArg('Stock code, e.g. 000001.SZ or 600519.SH'),
    start_date: dateArg('First trade date to include, YYYY-MM-DD or YYYYMMDD; omit for the earliest').optional(),
    end_date: dateArg('Last trade date to include, YYYY-MM-DD or YYYYMMDD; omit for the latest').optional(),
  })
  .superRefine(requireStartNotAfterEnd);

/** The WHERE body selecting one stock's rows in the requested trade-date range. */
export function stockHistoryFilter(args: z.output<typeof stockHistoryInput>): Sql {
  return allOf([sql`ts_code = ${str(args.ts_code)}`, ...dateRangeConditions(sql`trade_date`, args)]);
}
