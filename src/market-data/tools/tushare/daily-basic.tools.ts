import { DAILY_BASIC_COLUMNS } from '../../market-tables.js';
import { type TusharePlugin, allByDateTool, codeRangeTool, latestPerCodeTool, latestTradeDateTool } from './tushare-tool.js';

const plugin: TusharePlugin = { table: 'ods_daily_basic', servicePrefix: 'tushare_daily_basic', columns: DAILY_BASIC_COLUMNS };
const METRICS = 'close, turnover_rate, turnover_rate_f, volume_ratio, pe, pe_ttm, pb, ps, ps_ttm, dv_ratio, dv_ttm, total_share, float_share, free_share, total_mv, circ_mv';

export const TUSHARE_DAILY_BASIC_TOOLS = [
  codeRangeTool(plugin, {
    name: 'tushare_daily_basic_get_daily_basic',
    title: 'Daily basic indicators (original tool)',
    description: `Query daily basic indicators by code and date range (ts_code, trade_date, ${METRICS}), oldest first. At most 5000 rows.`,
  }),
  latestPerCodeTool(plugin, {
    name: 'tushare_daily_basic_get_latest_daily_basic',
    title: 'Latest daily basic indicators (original tool)',
    description: 'Query latest daily basic indicators for multiple stocks: the newest row of each code, by ts_code.',
  }),
  latestTradeDateTool(plugin, {
    name: 'tushare_daily_basic_get_latest_trade_date',
    title: 'Latest trade date of daily basic data (original tool)',
    description: 'Get latest trade date in the database (ods_daily_basic); the text is the date alone, YYYY-MM-DD.',
  }),
  allByDateTool(plugin, {
    name: 'tushare_daily_basic_get_all_daily_basic_by_date',
    title: "All stocks' daily basic indicators for a date (original tool)",
    description: "Query all stocks' daily basic indicators for a specific date, one row per stock, by ts_code. At most 6000 rows.",
  }),
];
