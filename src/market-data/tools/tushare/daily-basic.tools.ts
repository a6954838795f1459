import { z } from 'zod';
import { date, int, join, sql, str } from '../../../clickhouse/sql.js';
import { DAILY_BASIC_COLUMNS } from '../../market-tables.js';
import { defineTool } from '../../stock-tool.js';
import { allOf, codesArg, dateRangeConditions } from '../../tool-args.js';
import { DAILY_KEY } from '../get-daily-bars.tool.js';
import { codeRangeInput, latestDateText, rowsAsText, tradeDateInput } from './tushare-tool.js';

const plugin = { table: 'ods_daily_basic', servicePrefix: 'tushare_daily_basic' };
const METRICS = 'close, turnover_rate, turnover_rate_f, volume_ratio, pe, pe_ttm, pb, ps, ps_ttm, dv_ratio, dv_ttm, total_share, float_share, free_share, total_mv, circ_mv';

export const tushareDailyBasicGetDailyBasic = defineTool({
  ...plugin,
  name: 'tushare_daily_basic_get_daily_basic',
  title: 'Daily basic indicators (original tool)',
  description: `Query daily basic indicators by code and date range (ts_code, trade_date, ${METRICS}), oldest first. At most 5000 rows.`,
  maxRows: 5000,
  input: codeRangeInput,
  read: (args, data, limit) => {
    const where = allOf([sql`ts_code = ${str(args.code)}`, ...dateRangeConditions(sql`trade_date`, args)]);
    return data.rows(sql`SELECT * FROM ${data.latest('ods_daily_basic', DAILY_KEY, DAILY_BASIC_COLUMNS, where)} ORDER BY trade_date LIMIT ${int(limit)}`);
  },
  text: rowsAsText,
});

export const tushareDailyBasicGetLatestDailyBasic = defineTool({
  ...plugin,
  name: 'tushare_daily_basic_get_latest_daily_basic',
  title: 'Latest daily basic indicators (original tool)',
  description: 'Query latest daily basic indicators for multiple stocks: the newest row of each code, by ts_code.',
  maxRows: 100,
  input: z.object({ codes: codesArg('Stock codes', 100) }),
  read: (args, data, limit) =>
    data.rows(sql`SELECT * FROM ${data.latest('ods_daily_basic', DAILY_KEY, DAILY_BASIC_COLUMNS, sql`ts_code IN (${join(args.codes.map(str), ', ')})`)}
      ORDER BY ts_code, trade_date DESC
      LIMIT 1 BY ts_code
      LIMIT ${int(limit)}`),
  text: rowsAsText,
});

export const tushareDailyBasicGetLatestTradeDate = defineTool({
  ...plugin,
  name: 'tushare_daily_basic_get_latest_trade_date',
  title: 'Latest trade date of daily basic data (original tool)',
  description: 'Get latest trade date in the database (ods_daily_basic); the text is the date alone, YYYY-MM-DD.',
  maxRows: 1,
  input: z.object({}),
  read: (_args, data) => data.rows(sql`SELECT max(trade_date) AS trade_date FROM ods_daily_basic HAVING count() > 0`),
  text: latestDateText('ods_daily_basic'),
});

export const tushareDailyBasicGetAllDailyBasicByDate = defineTool({
  ...plugin,
  name: 'tushare_daily_basic_get_all_daily_basic_by_date',
  title: "All stocks' daily basic indicators for a date (original tool)",
  description: "Query all stocks' daily basic indicators for a specific date, one row per stock, by ts_code. At most 6000 rows.",
  maxRows: 6000,
  input: tradeDateInput,
  read: (args, data, limit) =>
    data.rows(sql`SELECT * FROM ${data.latest('ods_daily_basic', DAILY_KEY, DAILY_BASIC_COLUMNS, sql`trade_date = ${date(args.trade_date)}`)} ORDER BY ts_code LIMIT ${int(limit)}`),
  text: rowsAsText,
});

export const TUSHARE_DAILY_BASIC_TOOLS = [
  tushareDailyBasicGetDailyBasic,
  tushareDailyBasicGetLatestDailyBasic,
  tushareDailyBasicGetLatestTradeDate,
  tushareDailyBasicGetAllDailyBasicByDate,
];
