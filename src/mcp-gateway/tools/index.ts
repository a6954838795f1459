import { getDailyBarsTool } from './get-daily-bars.tool.js';
import { getDailyBasicTool } from './get-daily-basic.tool.js';
import { getLatestBarsTool } from './get-latest-bars.tool.js';
import { getTradeCalendarTool } from './get-trade-calendar.tool.js';
import { searchStocksTool } from './search-stocks.tool.js';
import type { StockTool } from './stock-tool.js';

/** Every data tool the gateway publishes; a new tool is one file plus one line here. */
export const STOCK_TOOLS: readonly StockTool[] = [
  searchStocksTool,
  getDailyBarsTool,
  getLatestBarsTool,
  getTradeCalendarTool,
  getDailyBasicTool,
];
