import { int, sql } from '../../clickhouse/sql.js';
import { stockHistoryFilter, stockHistoryInput } from './tool-args.js';
import { defineTool } from './stock-tool.js';

export const getDailyBasicTool = defineTool({
  name: 'get_daily_basic',
  title: 'Daily valuation metrics',
  description:
    'Daily valuation metrics of one stock, oldest first: close, turnover_rate (%), volume_ratio, pe, pe_ttm, pb, ps, ' +
    'total_share and float_share (10k shares), total_mv and circ_mv (10k yuan). At most 1000 days.',
  table: 'ods_daily_basic',
  maxRows: 1000,
  input: stockHistoryInput,
  query: (args, limit) => sql`SELECT ts_code, trade_date, close, turnover_rate, volume_ratio, pe, pe_ttm, pb, ps,
      total_share, float_share, total_mv, circ_mv
    FROM ods_daily_basic
    WHERE ${stockHistoryFilter(args)}
    ORDER BY trade_date
    LIMIT ${int(limit)}`,
});
