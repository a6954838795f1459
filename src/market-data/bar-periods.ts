import { z } from 'zod';
import { type Sql, ident, join, sql, str } from '../clickhouse/sql.js';
import { type Adjustment, noFactors, round2 } from './adjustment.js';
import type { MarketDataRepository, Row } from './market-data.repository.js';
import { ADJ_FACTOR_COLUMNS, DAILY_COLUMNS, DAILY_KEY } from './market-tables.js';
import { stockRangeFilter } from './tool-args.js';

export type Period = 'W' | 'M';
export type Freq = 'D' | Period;

export const freqArg = z
  .enum(['D', 'W', 'M'])
  .default('D')
  .describe(
    'Bar length: D daily (default), W weekly (ISO weeks, Monday to Sunday) or M monthly. A W/M bar: trade_date = its last trading day, ' +
      "open = the first day's open, high/low = the extremes, close = the last close, vol/amount = sums, pre_close = the previous period's close. " +
      'Bars are picked by trade_date: the first bar covers its whole period (days before start_date included), the last one ends at end_date ' +
      '(a period in progress covers the days so far). Use W or M for long histories instead of aggregating daily bars yourself.',
  );

export const MA_MAX_WINDOWS = 5;

export const maArg = z
  .array(z.number().int().min(2).max(250))
  .min(1)
  .max(MA_MAX_WINDOWS)
  .refine((windows) => new Set(windows).size === windows.length, { error: 'Each window length may be named once' })
  .optional()
  .describe(
    'Moving averages of close, up to 5 window lengths of 2-250 bars (e.g. [5, 20, 60]): adds ma5, ma20, ma60 = the mean close of the last N bars ' +
      '(of freq) up to and including each bar, bars before start_date included; null while fewer than N bars exist. 2 decimals.',
  );

/** The shape of a moving-average column name (ma5, never ma05: the name must be the column's own). */
export const MA_FIELD = /^ma([1-9]\d{0,2})$/;
export const maColumn = (window: number) => `ma${window}`;

/** Object-level check (pass to `.superRefine`): a field ma<N> needs N among the `ma` windows. */
export function requireMaForMaFields(args: { ma?: number[]; fields?: string[] }, ctx: z.RefinementCtx): void {
  args.fields?.forEach((field, index) => {
    const window = MA_FIELD.exec(field)?.[1];
    if (window !== undefined && !args.ma?.includes(Number(window))) {
      ctx.addIssue({ code: 'custom', message: `Field ${field} needs ${Number(window)} among the ma window lengths`, path: ['fields', index] });
    }
  });
}

const PERIOD_START: Record<Period, Sql> = { W: sql`toMonday(d_date)`, M: sql`toStartOfMonth(d_date)` };
const PRICES: readonly string[] = ['open', 'high', 'low', 'close'];
/** How a period's value comes from its days; sums are rounded to 3 decimals, the finest the loader stores, so float noise does not show. */
const AGGREGATES: Record<string, (day: Sql) => Sql> = {
  open: (day) => sql`argMin(${day}, d_date)`,
  high: (day) => sql`max(${day})`,
  low: (day) => sql`min(${day})`,
  close: (day) => sql`argMax(${day}, d_date)`,
  vol: (day) => sql`round(sum(${day}), 3)`,
  amount: (day) => sql`round(sum(${day}), 3)`,
};
const dayColumn = (column: string) => ident(`d_${column}`);

/**
 * One stock's days up to `endDate` (newest row versions), columns renamed d_*: prices adjusted per
 * day, unrounded, exactly as adjustBars multiplies them (hfq: price × factor; qfq: price × factor ÷
 * the newest factor up to endDate), so rounding them later gives the daily bars' values. A day
 * without a factor takes the latest earlier one, else the earliest later one; d_factor is NULL when
 * the stock has no factors at all.
 */
function adjustedDays(data: MarketDataRepository, code: string, endDate: string | undefined, adjustment: Adjustment, columns: readonly string[]): Sql {
  const range = stockRangeFilter(code, { end_date: endDate });
  const daily = data.latest('ods_daily', DAILY_KEY, ['ts_code', 'trade_date', ...columns], range);
  if (adjustment === 'none') return sql`(SELECT trade_date AS d_date, ${join(columns.map((column) => sql`${ident(column)} AS ${dayColumn(column)}`), ', ')} FROM ${daily})`;

  const factors = data.latest('ods_adj_factor', DAILY_KEY, ADJ_FACTOR_COLUMNS, range);
  const series = sql`(SELECT groupArray(trade_date) AS f_dates, groupArray(assumeNotNull(adj_factor)) AS f_values
    FROM (SELECT trade_date, adj_factor FROM ${factors} WHERE adj_factor IS NOT NULL ORDER BY trade_date))`;
  const adjust = (column: string) =>
    adjustment === 'hfq' ? sql`${ident(column)} * d_factor` : sql`${ident(column)} * d_factor / arrayElement(f_values, -1)`;
  const renamed = columns.map((column) => sql`${PRICES.includes(column) ? adjust(column) : ident(column)} AS ${dayColumn(column)}`);
  return sql`(SELECT trade_date AS d_date, ${join(renamed, ', ')}, d_factor FROM (
    SELECT *, if(empty(f_values), NULL, arrayElement(f_values, greatest(1, length(arrayFilter(day -> day <= trade_date, f_dates))))) AS d_factor
    FROM ${daily} CROSS JOIN ${series}))`;
}

/**
 * One stock's weekly or monthly bars over its whole history up to `endDate`, oldest first,
 * aggregated in ClickHouse; pre_close, change and pct_chg follow from consecutive closes.
 */
export async function periodBars(data: MarketDataRepository, code: string, period: Period, endDate: string | undefined, adjustment: Adjustment): Promise<Row[]> {
  const columns = data.columns('ods_daily', Object.keys(AGGREGATES));
  const adjusted = adjustment !== 'none';
  const aggregates = columns.map((column) => sql`${AGGREGATES[column](dayColumn(column))} AS ${ident(column)}`);
  const factor = adjusted ? sql`, argMax(d_factor, d_date) AS adj_factor` : sql``;
  const rows = await data.rows(sql`SELECT ${str(code)} AS ts_code, max(d_date) AS trade_date, ${join(aggregates, ', ')}${factor}
    FROM ${adjustedDays(data, code, endDate, adjustment, columns)}
    GROUP BY ${PERIOD_START[period]}
    ORDER BY trade_date`);
  const unadjustable = adjusted ? rows.find((row) => row.adj_factor === null) : undefined;
  if (unadjustable) throw noFactors(code, String(unadjustable.trade_date));
  return withPreviousCloses(adjusted ? rows.map(roundPrices) : rows);
}

/** Adjusted prices to 2 decimals as pro_bar writes them; rounding is monotonic, so a period's extremes round as its days' do. */
function roundPrices(row: Row): Row {
  const rounded = { ...row };
  for (const column of PRICES) if (typeof row[column] === 'number') rounded[column] = round2(row[column]);
  return rounded;
}

/** pre_close = the previous period's close (null for the first), change and pct_chg from them (2 decimals, as pro_bar computes them); columns in get_daily_bars' order. */
function withPreviousCloses(periods: Row[]): Row[] {
  return periods.map((period, index) => {
    const close = typeof period.close === 'number' ? period.close : null;
    const previous = periods[index - 1]?.close;
    const preClose = typeof previous === 'number' ? previous : null;
    const change = close === null || preClose === null ? null : round2(close - preClose);
    const pctChg = change === null || preClose === 0 ? null : round2(((close! - preClose!) / preClose!) * 100);
    const row: Row = { ...period, pre_close: preClose, change, pct_chg: pctChg };
    return Object.fromEntries([...DAILY_COLUMNS, 'adj_factor'].filter((column) => column in row).map((column) => [column, row[column]]));
  });
}

/**
 * Each bar with ma<N> for every window: the mean of the last N closes (this bar's included) in
 * whole cents, rounded half away from zero to a cent; null while fewer than N bars (or a NULL close)
 * are in the window. Integer cents keep the mean exact whatever the order of the sum.
 */
export function withMovingAverages(bars: readonly Row[], windows: readonly number[]): Row[] {
  const cents = bars.map((bar) => (typeof bar.close === 'number' ? Math.round(bar.close * 100) : null));
  return bars.map((bar, index) => ({ ...bar, ...Object.fromEntries(windows.map((window) => [maColumn(window), meanOfLast(cents, index, window)])) }));
}

function meanOfLast(cents: readonly (number | null)[], last: number, window: number): number | null {
  if (last + 1 < window) return null;
  let sum = 0;
  for (let index = last - window + 1; index <= last; index++) {
    const value = cents[index];
    if (value === null) return null;
    sum += value;
  }
  return roundedQuotient(sum, window) / 100;
}

/** sum / count to the nearest integer, a half away from zero. */
function roundedQuotient(sum: number, count: number): number {
  const magnitude = Math.floor((2 * Math.abs(sum) + count) / (2 * count));
  return sum < 0 ? -magnitude : magnitude;
}
