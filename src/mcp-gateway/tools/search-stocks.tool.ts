import { z } from 'zod';
import { type Sql, int, sql, str } from '../../clickhouse/sql.js';
import { allOf } from './tool-args.js';
import { defineTool } from './stock-tool.js';

export const searchStocksTool = defineTool({
  name: 'search_stocks',
  title: 'Search stocks',
  description:
    'Lists A-share stocks (ts_code, symbol, name, area, industry, market, exchange, list_date, list_status), ' +
    'optionally filtered by a code prefix or name fragment and by industry, ordered by ts_code.',
  table: 'ods_stock_basic',
  maxRows: 200,
  input: z.object({
    query: z
      .string()
      .trim()
      .min(1)
      .max(50)
      .optional()
      .describe('Case-insensitive: a prefix of ts_code or symbol (e.g. "600" or "000001.sz") or a fragment of the name (e.g. "银行")'),
    industry: z.string().trim().min(1).max(50).optional().describe('Exact industry name, e.g. "银行" or "白酒"'),
    limit: z.number().int().min(1).max(200).default(50).describe('Maximum number of stocks to return (1-200)'),
  }),
  query: (args, limit) => {
    const conditions: Sql[] = [];
    if (args.query) {
      const text = str(args.query);
      conditions.push(sql`(positionCaseInsensitiveUTF8(ts_code, ${text}) = 1
        OR positionCaseInsensitiveUTF8(symbol, ${text}) = 1
        OR positionCaseInsensitiveUTF8(name, ${text}) > 0)`);
    }
    if (args.industry) conditions.push(sql`industry = ${str(args.industry)}`);
    return sql`SELECT ts_code, symbol, name, area, industry, market, exchange, list_date, list_status
      FROM ods_stock_basic
      WHERE ${allOf(conditions)}
      ORDER BY ts_code
      LIMIT ${int(Math.min(args.limit, limit))}`;
  },
});
