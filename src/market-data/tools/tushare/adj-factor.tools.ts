import { z } from 'zod';
import { int, join, sql, str } from '../../../clickhouse/sql.js';
import { ADJ_FACTOR_COLUMNS } from '../../market-tables.js';
import { defineTool } from '../../stock-tool.js';
import { allOf, codesArg, dateRangeConditions } from '../../tool-args.js';
import { DAILY_KEY } from '../get-daily-bars.tool.js';
import { codeRangeInput, rowsAsText } from './tushare-tool.js';

const plugin = { table: 'ods_adj_factor', servicePrefix: 'tushare_adj_factor' };

export const tushareAdjFactorGetAdjFactor = defineTool({
  ...plugin,
  name: 'tushare_adj_factor_get_adj_factor',
  title: 'Adjustment factors (original tool)',
  description: 'Query adjustment factor by code and date range: ts_code, trade_date, adj_factor, oldest first. At most 5000 rows.',
  maxRows: 5000,
  input: codeRangeInput,
  read: (args, data, limit) => {
    const where = allOf([sql`ts_code = ${str(args.code)}`, ...dateRangeConditions(sql`trade_date`, args)]);
    return data.rows(sql`SELECT * FROM ${data.latest('ods_adj_factor', DAILY_KEY, ADJ_FACTOR_COLUMNS, where)} ORDER BY trade_date LIMIT ${int(limit)}`);
  },
  text: rowsAsText,
});

export const tushareAdjFactorGetLatestAdjFactor = defineTool({
  ...plugin,
  name: 'tushare_adj_factor_get_latest_adj_factor',
  title: 'Latest adjustment factors (original tool)',
  description: 'Query latest adjustment factor for multiple stocks: the newest row of each code, by ts_code.',
  maxRows: 100,
  input: z.object({ codes: codesArg('Stock codes', 100) }),
  read: (args, data, limit) =>
    data.rows(sql`SELECT * FROM ${data.latest('ods_adj_factor', DAILY_KEY, ADJ_FACTOR_COLUMNS, sql`ts_code IN (${join(args.codes.map(str), ', ')})`)}
      ORDER BY ts_code, trade_date DESC
      LIMIT 1 BY ts_code
      LIMIT ${int(limit)}`),
  text: rowsAsText,
});

export const TUSHARE_ADJ_FACTOR_TOOLS = [tushareAdjFactorGetAdjFactor, tushareAdjFactorGetLatestAdjFactor];
