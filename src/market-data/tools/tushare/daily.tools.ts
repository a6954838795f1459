import { z } from 'zod';
import { type Sql, int, join, sql, str } from '../../../clickhouse/sql.js';
import { adjustBars, readsForAdjustment } from '../../adjustment.js';
import { DAILY_COLUMNS } from '../../market-tables.js';
import { defineTool } from '../../stock-tool.js';
import { adjustArg, codesArg, stockRangeFilter } from '../../tool-args.js';
import { DAILY_KEY, barsInRange } from '../get-daily-bars.tool.js';
import { type TusharePlugin, allByDateTool, codeRangeInput, latestTradeDateTool, rowAsText, rowsAsText } from './tushare-tool.js';

/** The original's columns for these tools: no pre_close, change or pct_chg. */
const ORIGINAL_COLUMNS = ['ts_code', 'trade_date', 'open', 'high', 'low', 'close', 'vol', 'amount'];
const plugin = { table: 'ods_daily', servicePrefix: 'tushare_daily' };
/** The by-date and latest-date tools select every column, as the original's did. */
const allColumns: TusharePlugin = { ...plugin, columns: DAILY_COLUMNS };

export const tushareDailyGetDailyData = defineTool({
  ...plugin,
  name: 'tushare_daily_get_daily_data',
  title: 'Daily data (original tool)',
  description: 'Query daily stock data by code and date range: ts_code, trade_date, open, high, low, close, vol (lots), amount (thousand yuan), oldest first; adjust for qfq/hfq prices. At most 5000 rows.',
  maxRows: 5000,
  input: codeRangeInput.safeExtend({ adjust: adjustArg }),
  alsoReads: readsForAdjustment,
  read: (args, data, limit) => barsInRange(data, ORIGINAL_COLUMNS, args.code, args, args.adjust, limit),
  text: rowsAsText,
});

export const tushareDailyGetLatestDaily = defineTool({
  ...plugin,
  name: 'tushare_daily_get_latest_daily',
  title: 'Latest daily data (original tool)',
  description: 'Query latest daily data for multiple stocks: the newest `limit` bars of each code, by ts_code then newest first. At most 5000 rows.',
  maxRows: 5000,
  input: z.object({
    codes: codesArg('Stock codes', 100),
    limit: z.number().int().min(1).max(250).default(1).describe('Bars per stock (1-250), newest first; default 1'),
    adjust: adjustArg,
  }),
  alsoReads: readsForAdjustment,
  read: async (args, data, limit) => {
    const where = sql`ts_code IN (${join(args.codes.map(str), ', ')})`;
    const bars = await data.rows(sql`SELECT * FROM ${data.latest('ods_daily', DAILY_KEY, ORIGINAL_COLUMNS, where)}
      ORDER BY ts_code, trade_date DESC
      LIMIT ${int(args.limit)} BY ts_code
      LIMIT ${int(limit)}`);
    return [...(await adjustBars(bars.slice(0, limit - 1), args.adjust, data)), ...bars.slice(limit - 1)];
  },
  text: rowsAsText,
});

export const tushareDailyGetDailyStats = defineTool({
  ...plugin,
  name: 'tushare_daily_get_daily_stats',
  title: 'Daily data statistics (original tool)',
  description:
    'Get daily data statistics for a stock over a date range: trading_days, min_close, max_close, avg_close, total_volume, total_amount ' +
    '(null when there are no bars). One row.',
  maxRows: 1,
  input: codeRangeInput,
  read: (args, data) => {
    const whenAny = (expression: Sql) => sql`if(count() = 0, NULL, ${expression})`;
    return data.rows(sql`SELECT count() AS trading_days, ${whenAny(sql`min(close)`)} AS min_close, ${whenAny(sql`max(close)`)} AS max_close,
        ${whenAny(sql`avg(close)`)} AS avg_close, ${whenAny(sql`sum(vol)`)} AS total_volume, ${whenAny(sql`sum(amount)`)} AS total_amount
      FROM ${data.latest('ods_daily', DAILY_KEY, ['ts_code', 'trade_date', 'close', 'vol', 'amount'], stockRangeFilter(args.code, args))}`).then((rows) =>
      rows.map((row) => ({ ...row, trading_days: Number(row.trading_days) })),
    );
  },
  text: rowAsText,
});

export const TUSHARE_DAILY_TOOLS = [
  tushareDailyGetDailyData,
  tushareDailyGetLatestDaily,
  tushareDailyGetDailyStats,
  latestTradeDateTool(allColumns, {
    name: 'tushare_daily_get_latest_trade_date',
    title: 'Latest trade date of daily data (original tool)',
    description: 'Get latest trade date in the database (ods_daily); the text is the date alone, YYYY-MM-DD.',
  }),
  allByDateTool(allColumns, {
    name: 'tushare_daily_get_all_daily_by_date',
    title: "All stocks' daily data for a date (original tool)",
    description: "Query all stocks' daily data for a specific date: every column of ods_daily, one row per stock, by ts_code. At most 6000 rows.",
  }),
];
