import { z } from 'zod';
import { type Sql, date, join, parseIsoDate, sql, str } from '../clickhouse/sql.js';
import { echo } from '../common/echo.js';

const TS_CODE = /^(\d{6})(?:\.(SZ|SH|BJ))?$/i;
const DATE_INPUT = /^(\d{8}|\d{4}-\d{2}-\d{2})$/;
const FIRST_YEAR = 1990;
const LAST_YEAR = 2100;

/**
 * Text that some clients send as a number (the MCP Inspector turns `600` or `20261101` into
 * JSON numbers): a whole number is taken as its decimal digits. The published schema says string.
 */
export function textOrDigits<Schema extends z.ZodType>(schema: Schema) {
  return z.preprocess((value) => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value), schema);
}

/** The exchange a bare six-digit A-share code trades on, as tushare suffixes it. */
function exchangeSuffix(digits: string): 'SH' | 'SZ' | 'BJ' {
  if (digits.startsWith('6') || digits.startsWith('9')) return 'SH';
  if (digits.startsWith('4') || digits.startsWith('8')) return 'BJ';
  return 'SZ';
}

/** `000001.SZ` in any case, or the bare `000001` (the suffix follows from the number), normalized to `000001.SZ`. */
function normalizeCode(value: string, ctx: z.RefinementCtx): string {
  const match = TS_CODE.exec(value.trim().padStart(6, '0'));
  if (!match) {
    ctx.addIssue({ code: 'custom', message: `Invalid stock code ${echo(value)}: expected six digits with .SZ, .SH or .BJ, e.g. 000001.SZ` });
    return z.NEVER;
  }
  return `${match[1]}.${(match[2] ?? exchangeSuffix(match[1])).toUpperCase()}`;
}

/** A security code such as 000001.SZ (or 000001, or the number 600519); normalized to upper case with its suffix. */
export function tsCodeArg(description: string) {
  return textOrDigits(z.string().transform(normalizeCode)).describe(description);
}

/** 1 to `max` codes, as a list or as one comma-separated string (the original service accepted both). */
export function codesArg(description: string, max = 50) {
  const splitCommas = (value: unknown) => (typeof value === 'string' ? value.split(',').map((part) => part.trim()).filter(Boolean) : value);
  return z
    .preprocess(splitCommas, z.array(tsCodeArg('A stock code')).min(1).max(max))
    .describe(`${description} (1 to ${max} codes, e.g. ["000001.SZ", "600519.SH"] or "000001.SZ,600519.SH")`);
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
 * A trading day as YYYY-MM-DD or YYYYMMDD (the original system's form, also as a number),
 * normalized to YYYY-MM-DD. Each check aborts the next so a caller sees the one problem that matters.
 */
export function dateArg(description: string) {
  return textOrDigits(
    z
      .string()
      .regex(DATE_INPUT, { error: (issue) => `Invalid date ${echo(issue.input)}: use YYYY-MM-DD or YYYYMMDD`, abort: true })
      .overwrite(toIsoDate)
      .refine(isCalendarDate, { error: (issue) => `Invalid date ${echo(issue.input)}: no such day`, abort: true })
      .refine(isInSupportedYears, { error: (issue) => `Invalid date ${echo(issue.input)}: the year must be between ${FIRST_YEAR} and ${LAST_YEAR}` }),
  ).describe(description);
}

export const EXCHANGES = ['SSE', 'SZSE', 'BSE', 'CFFEX', 'SHFE', 'CZCE', 'DCE', 'INE'] as const;

export const exchangeArg = z.enum(EXCHANGES).default('SSE').describe('Exchange calendar: SSE (Shanghai, the default), SZSE (Shenzhen), BSE (Beijing) or a futures exchange');

/** Price adjustment from ods_adj_factor, as tushare's pro_bar computes it. */
export const adjustArg = z
  .enum(['none', 'qfq', 'hfq'])
  .default('none')
  .describe('Price adjustment: none (raw prices), qfq (forward: relative to the newest factor up to end_date) or hfq (backward: price × adj_factor)');

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
  return [...(range.start_date ? [sql`${column} >= ${date(range.start_date)}`] : []), ...(range.end_date ? [sql`${column} <= ${date(range.end_date)}`] : [])];
}

/** One stock's rows in a trade-date range: a key-only filter, fit for MarketDataRepository.latest(). */
export function stockRangeFilter(code: string, range: DateRange): Sql {
  return allOf([sql`ts_code = ${str(code)}`, ...dateRangeConditions(sql`trade_date`, range)]);
}

/** Arguments of the per-stock time-series tools: a code and an optional trade-date range. */
export const stockRangeInput = z
  .object({
    ts_code: tsCodeArg('Stock code, e.g. 000001.SZ or 600519.SH'),
    start_date: dateArg('First trade date to include, YYYY-MM-DD or YYYYMMDD; omit for the earliest').optional(),
    end_date: dateArg('Last trade date to include, YYYY-MM-DD or YYYYMMDD; omit for the latest').optional(),
  })
  .superRefine(requireStartNotAfterEnd);

/** A WHERE body that matches every row when a tool has no filter. */
export function allOf(conditions: Sql[]): Sql {
  return conditions.length > 0 ? join(conditions, ' AND ') : sql`1`;
}
