import { z } from 'zod';
import { type Sql, ident, int, join, sql, str } from '../../clickhouse/sql.js';
import { STOCK_BASIC_COLUMNS } from '../market-tables.js';
import { fieldsArg, withResultShape } from '../result-format.js';
import { defineTool } from '../stock-tool.js';
import { allOf, textOrDigits } from '../tool-args.js';

export const searchStocksTool = defineTool(
  withResultShape(
    {
      name: 'search_stocks',
      title: 'Search stocks',
      description:
        'Lists A-share stocks (ts_code, symbol, name, area, industry, market, list_date, delist_date, list_status), ' +
        'optionally filtered by a code prefix or name fragment, by industry and by listing status, ordered by ts_code.',
      table: 'ods_stock_basic',
      servicePrefix: 'tushare_stock_basic',
      maxRows: 200,
      input: z.object({
        query: textOrDigits(z.string().trim().min(1).max(50))
          .optional()
          .describe('Case-insensitive: a prefix of ts_code or symbol (e.g. "600" or "000001.sz") or a fragment of the name (e.g. "银行")'),
        industry: z.string().trim().min(1).max(50).optional().describe('Exact industry name, e.g. "银行" or "白酒"'),
        list_status: z.enum(['L', 'D', 'P']).optional().describe('L listed, D delisted, P suspended; omit for all'),
        limit: z.number().int().min(1).max(200).default(50).describe('Maximum number of stocks to return (1-200)'),
      }),
      read: (args, data, limit) => {
        const table = 'ods_stock_basic';
        const conditions: Sql[] = [];
        if (args.query) {
          const text = str(args.query);
          const codeColumns = data.columns(table, ['ts_code', 'symbol']).map((column) => sql`positionCaseInsensitiveUTF8(${ident(column)}, ${text}) = 1`);
          conditions.push(sql`(${join([...codeColumns, sql`positionCaseInsensitiveUTF8(name, ${text}) > 0`], ' OR ')})`);
        }
        if (args.industry) conditions.push(sql`industry = ${str(args.industry)}`);
        if (args.list_status) conditions.push(sql`list_status = ${str(args.list_status)}`);
        // Filters apply to each stock's newest row, so a renamed stock is found by its current name only.
        return data.rows(sql`SELECT * FROM ${data.latest(table, ['ts_code'], STOCK_BASIC_COLUMNS, sql`1`)}
          WHERE ${allOf(conditions)}
          ORDER BY ts_code
          LIMIT ${int(Math.min(args.limit, limit))}`);
      },
    },
    () => STOCK_BASIC_COLUMNS,
    fieldsArg(STOCK_BASIC_COLUMNS),
  ),
);
