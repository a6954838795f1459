import { z } from 'zod';
import { type Sql, bool, int, sql, str } from '../../clickhouse/sql.js';
import type { MarketDataRepository } from '../market-data.repository.js';
import { TRADE_CALENDAR_COLUMNS } from '../market-tables.js';
import { fieldsArg, withResultShape } from '../result-format.js';
import { defineTool } from '../stock-tool.js';
import { type DateRange, allOf, dateArg, dateRangeConditions, exchangeArg, requireStartNotAfterEnd } from '../tool-args.js';

const CALENDAR_KEY = ['exchange', 'cal_date'];

/** The newest row of each calendar day of one exchange in a date range, as a subquery. */
export function calendarDays(data: MarketDataRepository, exchange: string, range: DateRange): Sql {
  const where = allOf([sql`exchange = ${str(exchange)}`, ...dateRangeConditions(sql`cal_date`, range)]);
  return data.latest('ods_trade_calendar', CALENDAR_KEY, TRADE_CALENDAR_COLUMNS, where);
}

export const getTradeCalendarTool = defineTool(
  withResultShape(
    {
      name: 'get_trade_calendar',
      title: 'Trading calendar',
      description:
        'Calendar days of an exchange in a date range, oldest first: is_open (1 = trading day) and pretrade_date ' +
        '(the trading day before). At most 1000 days.',
      table: 'ods_trade_calendar',
      servicePrefix: 'tushare_trade_calendar',
      maxRows: 1000,
      input: z
        .object({
          exchange: exchangeArg,
          start_date: dateArg('First calendar day, YYYY-MM-DD or YYYYMMDD'),
          end_date: dateArg('Last calendar day, YYYY-MM-DD or YYYYMMDD'),
          is_open: z.boolean().optional().describe('true for trading days only, false for closed days only; omit for both'),
        })
        .superRefine(requireStartNotAfterEnd),
      read: (args, data, limit) => {
        const open = args.is_open === undefined ? sql`1` : sql`is_open = ${bool(args.is_open)}`;
        return data.rows(sql`SELECT * FROM ${calendarDays(data, args.exchange, args)}
          WHERE ${open}
          ORDER BY cal_date
          LIMIT ${int(limit)}`);
      },
    },
    () => TRADE_CALENDAR_COLUMNS,
    fieldsArg(TRADE_CALENDAR_COLUMNS),
  ),
);
