import { z } from 'zod';
import { int, join, sql, str } from '../../clickhouse/sql.js';
import { DAILY_BAR_COLUMNS } from './get-daily-bars.tool.js';
import { tsCodeArg } from './tool-args.js';
import { defineTool } from './stock-tool.js';

export const getLatestBarsTool = defineTool({
  name: 'get_latest_bars',
  title: 'Latest bars',
  description: 'The most recent daily bar of each requested stock (same columns as get_daily_bars), ordered by ts_code.',
  table: 'ods_daily',
  maxRows: 50,
  input: z.object({
    ts_codes: z.array(tsCodeArg('Stock code, e.g. 000001.SZ')).min(1).max(50).describe('1 to 50 stock codes'),
  }),
  // A tuple, not array(): ClickHouse 18.16 rejects `IN [...]` ("Type mismatch in IN or VALUES section").
  query: (args, limit) => sql`SELECT ${DAILY_BAR_COLUMNS}
    FROM ods_daily
    WHERE ts_code IN (${join(args.ts_codes.map(str), ', ')})
    ORDER BY ts_code, trade_date DESC
    LIMIT 1 BY ts_code
    LIMIT ${int(limit)}`,
});
