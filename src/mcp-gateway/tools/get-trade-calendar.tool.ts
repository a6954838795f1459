import { z } from 'zod';
import { bool, int, sql, str } from '../../clickhouse/sql.js';
import { allOf, dateArg, dateRangeConditions, requireStartNotAfterEnd } from './tool-args.js';
import { defineTool } from './stock-tool.js';

export const getTradeCalendarTool = defineTool({
  name: 'get_trade_calendar',
  title: 'Trading calendar',
  description:
    'Calendar days of an exchange in a date range, oldest first: is_open (1 = trading day) and pretrade_date ' +
    '(the trading day before). At most 1000 days.',
  table: 'ods_trade_calendar',
  maxRows: 1000,
  input: z
    .object({
      exchange: z.enum(['SSE', 'SZSE']).default('SSE').describe('SSE (Shanghai) or SZSE (Shenzhen)'),
      start_date: dateArg('First calendar day, YYYY-MM-DD or YYYYMMDD'),
      end_date: dateArg('Last calendar day, YYYY-MM-DD or YYYYMMDD'),
      is_open: z.boolean().optional().describe('true for trading days only, false for closed days only; omit for both'),
    })
    .superRefine(requireStartNotAfterEnd),
  query: (args, limit) => {
    const conditions = [sql`exchange = ${str(args.exchange)}`, ...dateRangeConditions(sql`cal_date`, args)];
    if (args.is_open !== undefined) conditions.push(sql`is_open = ${bool(args.is_open)}`);
    return sql`SELECT exchange, cal_date, is_open, pretrade_date
      FROM ods_trade_calendar
      WHERE ${allOf(conditions)}
      ORDER BY cal_date
      LIMIT ${int(limit)}`;
  },
});
