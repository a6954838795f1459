import { z } from 'zod';
import { int, sql, str } from '../../clickhouse/sql.js';
import { adjustBars } from '../adjustment.js';
import { DAILY_COLUMNS } from '../market-tables.js';
import { defineTool } from '../stock-tool.js';
import { adjustArg, allOf, dateArg, dateRangeConditions, requireStartNotAfterEnd, tsCodeArg } from '../tool-args.js';

export const DAILY_KEY = ['ts_code', 'trade_date'];

export const getDailyBarsTool = defineTool({
  name: 'get_daily_bars',
  title: 'Daily bars',
  description:
    'Daily OHLCV bars of one stock, oldest first: open, high, low, close, pre_close, change, pct_chg (%), ' +
    'vol (lots of 100 shares), amount (thousand yuan); raw prices, or qfq/hfq adjusted ones. At most 1000 bars; pass a date range for longer histories.',
  table: 'ods_daily',
  servicePrefix: 'tushare_daily',
  maxRows: 1000,
  input: z
    .object({
      ts_code: tsCodeArg('Stock code, e.g. 000001.SZ or 600519.SH'),
      start_date: dateArg('First trade date to include, YYYY-MM-DD or YYYYMMDD; omit for the earliest').optional(),
      end_date: dateArg('Last trade date to include, YYYY-MM-DD or YYYYMMDD; omit for the latest').optional(),
      adjust: adjustArg,
    })
    .superRefine(requireStartNotAfterEnd),
  read: async (args, data, limit) => {
    const where = allOf([sql`ts_code = ${str(args.ts_code)}`, ...dateRangeConditions(sql`trade_date`, args)]);
    const bars = await data.rows(sql`SELECT * FROM ${data.latest('ods_daily', DAILY_KEY, DAILY_COLUMNS, where)} ORDER BY trade_date LIMIT ${int(limit)}`);
    // The bar past the cap only tells truncation; qfq is relative to the last bar returned.
    return [...(await adjustBars(bars.slice(0, limit - 1), args.adjust, data)), ...bars.slice(limit - 1)];
  },
});
