import { ADJ_FACTOR_COLUMNS } from '../../market-tables.js';
import { type TusharePlugin, codeRangeTool, latestPerCodeTool } from './tushare-tool.js';

const plugin: TusharePlugin = { table: 'ods_adj_factor', servicePrefix: 'tushare_adj_factor', columns: ADJ_FACTOR_COLUMNS };

export const TUSHARE_ADJ_FACTOR_TOOLS = [
  codeRangeTool(plugin, {
    name: 'tushare_adj_factor_get_adj_factor',
    title: 'Adjustment factors (original tool)',
    description: 'Query adjustment factor by code and date range: ts_code, trade_date, adj_factor, oldest first. At most 5000 rows.',
  }),
  latestPerCodeTool(plugin, {
    name: 'tushare_adj_factor_get_latest_adj_factor',
    title: 'Latest adjustment factors (original tool)',
    description: 'Query latest adjustment factor for multiple stocks: the newest row of each code, by ts_code.',
  }),
];
