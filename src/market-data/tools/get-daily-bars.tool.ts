import { date, int, sql, str } from '../../clickhouse/sql.js';
import { type Adjustment, adjustBars, readsForAdjustment } from '../adjustment.js';
import { MA_FIELD, freqArg, maArg, maColumn, periodBars, requireMaForMaFields, withMovingAverages } from '../bar-periods.js';
import type { MarketDataRepository, Row } from '../market-data.repository.js';
import { DAILY_COLUMNS, DAILY_KEY } from '../market-tables.js';
import { fieldsArg, withResultShape } from '../result-format.js';
import { defineTool } from '../stock-tool.js';
import { type DateRange, adjustArg, stockRangeFilter, stockRangeInput } from '../tool-args.js';

export { DAILY_KEY } from '../market-tables.js';

/**
 * One stock's bars in a date range, oldest first, adjusted as asked. The bar past the cap only
 * tells truncation, so it stays raw; qfq is relative to the newest factor up to end_date.
 */
export async function barsInRange(data: MarketDataRepository, columns: readonly string[], code: string, range: DateRange, adjustment: Adjustment, limit: number): Promise<Row[]> {
  const bars = await data.rows(sql`SELECT * FROM ${data.latest('ods_daily', DAILY_KEY, columns, stockRangeFilter(code, range))} ORDER BY trade_date LIMIT ${int(limit)}`);
  return [...(await adjustBars(bars.slice(0, limit - 1), adjustment, data, range.end_date)), ...bars.slice(limit - 1)];
}

interface BarArgs extends DateRange {
  ts_code: string;
  adjust: Adjustment;
  freq: 'D' | 'W' | 'M';
  ma?: number[];
}

/** The `count` daily closes before `day`, oldest first, adjusted as the range's bars are (for moving averages). */
async function closesBefore(data: MarketDataRepository, args: BarArgs & { start_date: string }, count: number): Promise<Row[]> {
  const before = sql`ts_code = ${str(args.ts_code)} AND trade_date < ${date(args.start_date)}`;
  const bars = await data.rows(sql`SELECT * FROM ${data.latest('ods_daily', DAILY_KEY, ['ts_code', 'trade_date', 'close'], before)} ORDER BY trade_date DESC LIMIT ${int(count)}`);
  return adjustBars(bars.reverse(), args.adjust, data, args.end_date);
}

async function dailyBars(data: MarketDataRepository, args: BarArgs, windows: number[], limit: number): Promise<Row[]> {
  const bars = await barsInRange(data, DAILY_COLUMNS, args.ts_code, args, args.adjust, limit);
  if (windows.length === 0) return bars;
  const lookback = Math.max(...windows) - 1;
  const earlier = args.start_date ? await closesBefore(data, { ...args, start_date: args.start_date }, lookback) : [];
  return withMovingAverages([...earlier, ...bars], windows).slice(earlier.length);
}

/** Periods are computed over the whole history up to end_date; those before start_date only feed pre_close and moving averages. */
async function periodBarsInRange(data: MarketDataRepository, args: BarArgs & { freq: 'W' | 'M' }, windows: number[], limit: number): Promise<Row[]> {
  const periods = await periodBars(data, args.ts_code, args.freq, args.end_date, args.adjust);
  const startDate = args.start_date;
  const firstShown = startDate ? periods.findIndex((period) => String(period.trade_date) >= startDate) : 0;
  if (firstShown === -1) return [];
  const firstUsed = Math.max(0, firstShown - Math.max(0, ...windows.map((window) => window - 1)));
  return withMovingAverages(periods.slice(firstUsed, firstShown + limit), windows).slice(firstShown - firstUsed);
}

function readBars(data: MarketDataRepository, args: BarArgs, limit: number): Promise<Row[]> {
  const windows = args.ma ?? [];
  return args.freq === 'D' ? dailyBars(data, args, windows, limit) : periodBarsInRange(data, { ...args, freq: args.freq }, windows, limit);
}

const columnsFor = (args: BarArgs) => [...DAILY_COLUMNS, ...(args.adjust === 'none' ? [] : ['adj_factor']), ...(args.ma ?? []).map(maColumn)];

export const getDailyBarsTool = defineTool(
  withResultShape(
    {
      name: 'get_daily_bars',
      title: 'Daily, weekly or monthly bars',
      description:
        'OHLCV bars of one stock, oldest first: open, high, low, close, pre_close, change, pct_chg (%), ' +
        'vol (lots of 100 shares), amount (thousand yuan); raw prices, or qfq/hfq adjusted ones (adjusted per day, then aggregated). ' +
        'freq W or M gives one bar per week or month (a year is ~52 or 12 records instead of ~245): use it for long histories. ' +
        'ma adds moving averages of close (e.g. [20] for "above its 20-day average?"). At most 1000 bars; pass a date range for longer histories.',
      table: 'ods_daily',
      servicePrefix: 'tushare_daily',
      maxRows: 1000,
      input: stockRangeInput.safeExtend({ adjust: adjustArg, freq: freqArg, ma: maArg }),
      alsoReads: readsForAdjustment,
      read: (args, data, limit) => readBars(data, args, limit),
    },
    columnsFor,
    fieldsArg([...DAILY_COLUMNS, 'adj_factor'], { pattern: MA_FIELD, hint: 'ma<N> for a window N in ma' }),
    requireMaForMaFields,
  ),
);
