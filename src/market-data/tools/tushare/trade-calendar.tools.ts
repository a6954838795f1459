import { z } from 'zod';
import { int, sql } from '../../../clickhouse/sql.js';
import { defineTool } from '../../stock-tool.js';
import { dateArg, exchangeArg, requireStartNotAfterEnd } from '../../tool-args.js';
import { calendarDays } from '../get-trade-calendar.tool.js';
import { rowsAsText } from './tushare-tool.js';

const plugin = { table: 'ods_trade_calendar', servicePrefix: 'tushare_trade_calendar' };
const rangeInput = z
  .object({
    start_date: dateArg('First calendar day, YYYYMMDD or YYYY-MM-DD'),
    end_date: dateArg('Last calendar day, YYYYMMDD or YYYY-MM-DD'),
    exchange: exchangeArg,
  })
  .superRefine(requireStartNotAfterEnd);

export const tushareTradeCalendarGetTradeCalendar = defineTool({
  ...plugin,
  name: 'tushare_trade_calendar_get_trade_calendar',
  title: 'Trade calendar (original tool)',
  description: 'Query trade calendar by date range: exchange, cal_date, is_open (1 trading day, 0 closed), pretrade_date; oldest first. At most 5000 days.',
  maxRows: 5000,
  input: rangeInput,
  read: (args, data, limit) => {
    return data.rows(sql`SELECT * FROM ${calendarDays(data, args.exchange, args)} ORDER BY cal_date LIMIT ${int(limit)}`);
  },
  text: rowsAsText,
});

export const tushareTradeCalendarGetTradingDays = defineTool({
  ...plugin,
  name: 'tushare_trade_calendar_get_trading_days',
  title: 'Trading days (original tool)',
  description: 'Query trading days by date range (the open days of the calendar), oldest first. At most 5000 days.',
  maxRows: 5000,
  input: rangeInput,
  read: (args, data, limit) => {
    return data.rows(sql`SELECT * FROM ${calendarDays(data, args.exchange, args)} WHERE is_open = 1 ORDER BY cal_date LIMIT ${int(limit)}`);
  },
  text: rowsAsText,
});

export const tushareTradeCalendarGetNextTradingDay = defineTool({
  ...plugin,
  name: 'tushare_trade_calendar_get_next_trading_day',
  title: 'Next trading day (original tool)',
  description: 'Get next trading day after a date: a list of at most one calendar row (empty when the calendar ends first).',
  maxRows: 1,
  input: z.object({ date: dateArg('The day to start after, YYYYMMDD or YYYY-MM-DD'), exchange: exchangeArg }),
  read: (args, data) => {
    // The day after `date` is the first one the range may hold.
    const dayAfter = new Date(Date.parse(`${args.date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    return data.rows(sql`SELECT * FROM ${calendarDays(data, args.exchange, { start_date: dayAfter })} WHERE is_open = 1 ORDER BY cal_date LIMIT 1`);
  },
  text: rowsAsText,
});

export const TUSHARE_TRADE_CALENDAR_TOOLS = [tushareTradeCalendarGetTradeCalendar, tushareTradeCalendarGetTradingDays, tushareTradeCalendarGetNextTradingDay];
