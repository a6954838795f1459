import { int, sql } from '../../clickhouse/sql.js';
import { DAILY_BASIC_COLUMNS } from '../market-tables.js';
import { fieldsArg, withResultShape } from '../result-format.js';
import { defineTool } from '../stock-tool.js';
import { stockRangeFilter, stockRangeInput } from '../tool-args.js';
import { DAILY_KEY } from './get-daily-bars.tool.js';

export const getDailyBasicTool = defineTool(
  withResultShape(
    {
      name: 'get_daily_basic',
      title: 'Daily valuation metrics',
      description:
        'Daily valuation metrics of one stock, oldest first: close, turnover_rate and turnover_rate_f (%), volume_ratio, pe, pe_ttm ' +
        '(null when loss-making), pb, ps, ps_ttm, dv_ratio and dv_ttm (dividend yield, %), total_share, float_share and free_share ' +
        '(10k shares), total_mv and circ_mv (10k yuan). At most 1000 days.',
      table: 'ods_daily_basic',
      servicePrefix: 'tushare_daily_basic',
      maxRows: 1000,
      input: stockRangeInput,
      read: (args, data, limit) =>
        data.rows(sql`SELECT * FROM ${data.latest('ods_daily_basic', DAILY_KEY, DAILY_BASIC_COLUMNS, stockRangeFilter(args.ts_code, args))} ORDER BY trade_date LIMIT ${int(limit)}`),
    },
    () => DAILY_BASIC_COLUMNS,
    fieldsArg(DAILY_BASIC_COLUMNS),
  ),
);
