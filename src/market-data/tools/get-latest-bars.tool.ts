import { z } from 'zod';
import { int, join, sql, str } from '../../clickhouse/sql.js';
import { adjustBars, readsForAdjustment } from '../adjustment.js';
import { DAILY_COLUMNS } from '../market-tables.js';
import { fieldsArg, withResultShape } from '../result-format.js';
import { defineTool } from '../stock-tool.js';
import { adjustArg, codesArg } from '../tool-args.js';
import { DAILY_KEY } from './get-daily-bars.tool.js';

export const getLatestBarsTool = defineTool(
  withResultShape(
    {
      name: 'get_latest_bars',
      title: 'Latest bars',
      description: 'The most recent daily bar of each requested stock (same columns as get_daily_bars), ordered by ts_code.',
      table: 'ods_daily',
      servicePrefix: 'tushare_daily',
      maxRows: 50,
      input: z.object({ ts_codes: codesArg('Stock codes'), adjust: adjustArg }),
      alsoReads: readsForAdjustment,
      // A tuple, not array(): ClickHouse 18.16 rejects `IN [...]` ("Type mismatch in IN or VALUES section").
      read: async (args, data, limit) => {
        const where = sql`ts_code IN (${join(args.ts_codes.map(str), ', ')})`;
        const bars = await data.rows(sql`SELECT * FROM ${data.latest('ods_daily', DAILY_KEY, DAILY_COLUMNS, where)}
          ORDER BY ts_code, trade_date DESC
          LIMIT 1 BY ts_code
          LIMIT ${int(limit)}`);
        return adjustBars(bars, args.adjust, data);
      },
    },
    (args) => [...DAILY_COLUMNS, ...(args.adjust === 'none' ? [] : ['adj_factor'])],
    fieldsArg([...DAILY_COLUMNS, 'adj_factor']),
  ),
);
