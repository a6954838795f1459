import { int, sql } from '../../clickhouse/sql.js';
import { stockHistoryFilter, stockHistoryInput } from './tool-args.js';
import { defineTool } from './stock-tool.js';

/** The ods_daily columns every bar tool returns. */
export const DAILY_BAR_COLUMNS = sql`ts_code, trade_date, open, high, low, close, pre_close, change, pct_chg, vol, amount`;

export const getDailyBarsTool = defineTool({
  name: 'get_daily_bars',
  title: 'Daily bars',
  description:
    'Daily OHLCV bars of one stock, oldest first: open, high, low, close, pre_close, change, pct_chg (%), ' +
    'vol (lots of 100 shares), amount (thousand yuan). At most 1000 bars; pass a date range for longer histories.',
  table: 'ods_daily',
  maxRows: 1000,
  input: stockHistoryInput,
  query: (args, limit) => sql`SELECT ${DAILY_BAR_COLUMNS}
    FROM ods_daily
    WHERE ${stockHistoryFilter(args)}
    ORDER BY trade_date
    LIMIT ${int(limit)}`,
});
