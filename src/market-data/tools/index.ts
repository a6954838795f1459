import type { ToolSetName } from '../../config/settings.js';
import type { StockTool } from '../stock-tool.js';
import { getDailyBarsTool } from './get-daily-bars.tool.js';
import { getDailyBasicTool } from './get-daily-basic.tool.js';
import { getLatestBarsTool } from './get-latest-bars.tool.js';
import { getTradeCalendarTool } from './get-trade-calendar.tool.js';
import { searchStocksTool } from './search-stocks.tool.js';
import { TUSHARE_ADJ_FACTOR_TOOLS } from './tushare/adj-factor.tools.js';
import { TUSHARE_DAILY_BASIC_TOOLS } from './tushare/daily-basic.tools.js';
import { TUSHARE_DAILY_TOOLS } from './tushare/daily.tools.js';
import { TUSHARE_STOCK_BASIC_TOOLS } from './tushare/stock-basic.tools.js';
import { TUSHARE_TRADE_CALENDAR_TOOLS } from './tushare/trade-calendar.tools.js';

/**
 * The tools of each set MCP_TOOL_SETS chooses from (config owns the names). `stock`: this gateway's five tools, named for what
 * they do. `tushare`: the original service's tools under its names (`<plugin dir>_<method>`), so
 * its agents and prompts keep working. A new tool is one file plus one line here.
 */
export const TOOL_SETS = {
  stock: [searchStocksTool, getDailyBarsTool, getLatestBarsTool, getTradeCalendarTool, getDailyBasicTool],
  tushare: [...TUSHARE_DAILY_TOOLS, ...TUSHARE_DAILY_BASIC_TOOLS, ...TUSHARE_STOCK_BASIC_TOOLS, ...TUSHARE_TRADE_CALENDAR_TOOLS, ...TUSHARE_ADJ_FACTOR_TOOLS],
} satisfies Record<ToolSetName, readonly StockTool[]>;
