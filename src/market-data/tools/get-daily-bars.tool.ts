import { int, sql } from '../../clickhouse/sql.js';
import { type Adjustment, adjustBars, readsForAdjustment } from '../adjustment.js';
import type { MarketDataRepository, Row } from '../market-data.repository.js';
import { DAILY_COLUMNS } from '../market-tables.js';
import { defineTool } from '../stock-tool.js';
import { type DateRange, adjustArg, stockRangeFilter, stockRangeInput } from '../tool-args.js';

export const DAILY_KEY = ['ts_code', 'trade_date'];

/**
 * One stock's bars in a date range, oldest first, adjusted as asked. The bar past the cap only
 * tells truncation, so it stays raw; qfq is relative to the newest factor up to end_date.
 */
export async function barsInRange(data: MarketDataRepository, columns: readonly string[], code: string, range: DateRange, adjustment: Adjustment, limit: number): Promise<Row[]> {
  const bars = await data.rows(sql`SELECT * FROM ${data.latest('ods_daily', DAILY_KEY, columns, stockRangeFilter(code, range))} ORDER BY trade_date LIMIT ${int(limit)}`);
  return [...(await adjustBars(bars.slice(0, limit - 1), adjustment, data, range.end_date)), ...bars.slice(limit - 1)];
}

export const getDailyBarsTool = defineTool({
  name: 'get_daily_bars',
  title: 'Daily bars',
  description:
    'Daily OHLCV bars of one stock, oldest first: open, high, low, close, pre_close, change, pct_chg (%), ' +
    'vol (lots of 100 shares), amount (thousand yuan); raw prices, or qfq/hfq adjusted ones. At most 1000 bars; pass a date range for longer histories.',
  table: 'ods_daily',
  servicePrefix: 'tushare_daily',
  maxRows: 1000,
  input: stockRangeInput.safeExtend({ adjust: adjustArg }),
  alsoReads: readsForAdjustment,
  read: (args, data, limit) => barsInRange(data, DAILY_COLUMNS, args.ts_code, args, args.adjust, limit),
});
