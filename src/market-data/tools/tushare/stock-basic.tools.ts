import { z } from 'zod';
import { type Sql, int, sql, str } from '../../../clickhouse/sql.js';
import type { MarketDataRepository } from '../../market-data.repository.js';
import { STOCK_BASIC_COLUMNS } from '../../market-tables.js';
import { defineTool } from '../../stock-tool.js';
import { tsCodeArg } from '../../tool-args.js';
import { rowsAsText } from './tushare-tool.js';

const plugin = { table: 'ods_stock_basic', servicePrefix: 'tushare_stock_basic' };
const listStatusArg = z.enum(['L', 'D', 'P']).default('L').describe('L listed (the default), D delisted, P suspended');

/** Each stock's newest row, filtered after deduplication so a change of status or name counts. */
function stocks(data: MarketDataRepository, columns: readonly string[], where: Sql, order: Sql, limit: number) {
  return data.rows(sql`SELECT * FROM ${data.latest('ods_stock_basic', ['ts_code'], columns, sql`1`)} WHERE ${where} ORDER BY ${order} LIMIT ${int(limit)}`);
}

export const tushareStockBasicGetStockBasic = defineTool({
  ...plugin,
  name: 'tushare_stock_basic_get_stock_basic',
  title: 'Stock basic information (original tool)',
  description: 'Query stock basic information by code: ts_code, symbol, name, area, industry, market, list_date, delist_date, list_status.',
  maxRows: 10,
  input: z.object({ code: tsCodeArg('Stock code, e.g. 000001.SZ') }),
  read: (args, data, limit) => data.rows(sql`SELECT * FROM ${data.latest('ods_stock_basic', ['ts_code'], STOCK_BASIC_COLUMNS, sql`ts_code = ${str(args.code)}`)} LIMIT ${int(limit)}`),
  text: rowsAsText,
});

export const tushareStockBasicGetAllStocks = defineTool({
  ...plugin,
  name: 'tushare_stock_basic_get_all_stocks',
  title: 'All stocks (original tool)',
  description: 'Query all listed stocks (or those with another list_status), newest listing first. At most 8000 rows.',
  maxRows: 8000,
  input: z.object({ list_status: listStatusArg }),
  read: (args, data, limit) => stocks(data, STOCK_BASIC_COLUMNS, sql`list_status = ${str(args.list_status)}`, sql`list_date DESC, ts_code`, limit),
  text: rowsAsText,
});

export const tushareStockBasicGetStocksByIndustry = defineTool({
  ...plugin,
  name: 'tushare_stock_basic_get_stocks_by_industry',
  title: 'Stocks by industry (original tool)',
  description: 'Query listed stocks by industry (exact name, e.g. 银行), newest listing first.',
  maxRows: 2000,
  input: z.object({ industry: z.string().trim().min(1).max(50).describe('Exact industry name, e.g. 银行 or 白酒') }),
  read: (args, data, limit) => stocks(data, STOCK_BASIC_COLUMNS, sql`industry = ${str(args.industry)} AND list_status = 'L'`, sql`list_date DESC, ts_code`, limit),
  text: rowsAsText,
});

export const tushareStockBasicGetAllStockNames = defineTool({
  ...plugin,
  name: 'tushare_stock_basic_get_all_stock_names',
  title: 'All stock names (original tool)',
  description: 'Get all listed stock names as a mapping: the text is a JSON object {ts_code: name}; rows are {ts_code, name}. At most 8000.',
  maxRows: 8000,
  input: z.object({}),
  read: (_args, data, limit) => stocks(data, ['ts_code', 'name', 'list_status'], sql`list_status = 'L'`, sql`ts_code`, limit).then((rows) => rows.map(({ ts_code, name }) => ({ ts_code, name }))),
  text: (output) => JSON.stringify(Object.fromEntries(output.rows.map((row) => [row.ts_code, row.name]))),
});

export const tushareStockBasicGetAllStockBasicDf = defineTool({
  ...plugin,
  name: 'tushare_stock_basic_get_all_stock_basic_df',
  title: 'All stock basic information (original tool)',
  description: 'Get all listed stocks\' basic info (ts_code, symbol, name, area, industry, market, list_date, list_status), by ts_code; JSON rows instead of the original\'s DataFrame text. At most 8000.',
  maxRows: 8000,
  input: z.object({}),
  read: (_args, data, limit) => stocks(data, STOCK_BASIC_COLUMNS.filter((column) => column !== 'delist_date'), sql`list_status = 'L'`, sql`ts_code`, limit),
  text: rowsAsText,
});

export const tushareStockBasicGetAllIndustries = defineTool({
  ...plugin,
  name: 'tushare_stock_basic_get_all_industries',
  title: 'All industries (original tool)',
  description: 'Get all industries with their count of listed stocks, largest first.',
  maxRows: 1000,
  input: z.object({}),
  read: (_args, data, limit) =>
    data
      .rows<{ industry: string; stock_count: string }>(sql`SELECT industry, count() AS stock_count
        FROM ${data.latest('ods_stock_basic', ['ts_code'], ['ts_code', 'industry', 'list_status'], sql`1`)}
        WHERE list_status = 'L' AND industry != ''
        GROUP BY industry
        ORDER BY stock_count DESC, industry
        LIMIT ${int(limit)}`)
      .then((rows) => rows.map((row) => ({ industry: row.industry, stock_count: Number(row.stock_count) }))),
  text: rowsAsText,
});

export const TUSHARE_STOCK_BASIC_TOOLS = [
  tushareStockBasicGetStockBasic,
  tushareStockBasicGetAllStocks,
  tushareStockBasicGetStocksByIndustry,
  tushareStockBasicGetAllStockNames,
  tushareStockBasicGetAllStockBasicDf,
  tushareStockBasicGetAllIndustries,
];
