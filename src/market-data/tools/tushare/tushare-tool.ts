import { z } from 'zod';
import { date, ident, int, join, sql, str } from '../../../clickhouse/sql.js';
import { type StockTool, type ToolOutput, defineTool } from '../../stock-tool.js';
import { codesArg, dateArg, requireStartNotAfterEnd, stockRangeFilter, tsCodeArg } from '../../tool-args.js';
import { DAILY_KEY } from '../get-daily-bars.tool.js';

/**
 * The original service's tools, by their names (`<plugin dir>_<method>`) and argument names, so
 * agents and prompts written for it keep working. Unlike there, arguments are typed, defaults
 * apply, and results are JSON with exact record counts. The text content keeps the original's
 * result shape (a list of rows, an object, a date); structuredContent is the uniform envelope.
 */
export const rowsAsText = (output: ToolOutput) => JSON.stringify(output.rows);

/** The single row as a JSON object, or null when there is none (get_daily_stats). */
export const rowAsText = (output: ToolOutput) => JSON.stringify(output.rows[0] ?? null);

/** `code`, `start_date`, `end_date`: the original's per-stock range arguments, all required there and here. */
export const codeRangeInput = z
  .object({
    code: tsCodeArg('Stock code, e.g. 000001.SZ (a bare 000001 or 600519 works too)'),
    start_date: dateArg('First trade date, YYYYMMDD or YYYY-MM-DD'),
    end_date: dateArg('Last trade date, YYYYMMDD or YYYY-MM-DD'),
  })
  .superRefine(requireStartNotAfterEnd);

/** One of the original's plugins and the ts_code/trade_date table it reads. */
export interface TusharePlugin {
  servicePrefix: string;
  table: string;
  /** What its queries select. */
  columns: readonly string[];
}

interface Naming {
  name: string;
  title: string;
  description: string;
}

const ofPlugin = (plugin: TusharePlugin) => ({ table: plugin.table, servicePrefix: plugin.servicePrefix, text: rowsAsText });

/** `<plugin>_get_<…>(code, start_date, end_date)`: one stock's rows in a date range, oldest first. */
export function codeRangeTool(plugin: TusharePlugin, naming: Naming): StockTool {
  return defineTool({
    ...ofPlugin(plugin),
    ...naming,
    maxRows: 5000,
    input: codeRangeInput,
    read: (args, data, limit) =>
      data.rows(sql`SELECT * FROM ${data.latest(plugin.table, DAILY_KEY, plugin.columns, stockRangeFilter(args.code, args))} ORDER BY trade_date LIMIT ${int(limit)}`),
  });
}

/** `<plugin>_get_latest_<…>(codes)`: the newest row of each code, by ts_code. */
export function latestPerCodeTool(plugin: TusharePlugin, naming: Naming): StockTool {
  return defineTool({
    ...ofPlugin(plugin),
    ...naming,
    maxRows: 100,
    input: z.object({ codes: codesArg('Stock codes', 100) }),
    read: (args, data, limit) =>
      data.rows(sql`SELECT * FROM ${data.latest(plugin.table, DAILY_KEY, plugin.columns, sql`ts_code IN (${join(args.codes.map(str), ', ')})`)}
        ORDER BY ts_code, trade_date DESC
        LIMIT 1 BY ts_code
        LIMIT ${int(limit)}`),
  });
}

/** `<plugin>_get_latest_trade_date()`: the text is the date alone, as the original returned it. */
export function latestTradeDateTool(plugin: TusharePlugin, naming: Naming): StockTool {
  return defineTool({
    ...ofPlugin(plugin),
    ...naming,
    maxRows: 1,
    input: z.object({}),
    read: (_args, data) => data.rows(sql`SELECT max(trade_date) AS trade_date FROM ${ident(plugin.table)} HAVING count() > 0`),
    text: (output) => (output.rows[0]?.trade_date as string | undefined) ?? `no trade dates in ${plugin.table} yet`,
  });
}

/** `<plugin>_get_all_<…>_by_date(trade_date)`: every stock's row of one day, by ts_code. */
export function allByDateTool(plugin: TusharePlugin, naming: Naming): StockTool {
  return defineTool({
    ...ofPlugin(plugin),
    ...naming,
    maxRows: 6000,
    input: z.object({ trade_date: dateArg('The trade date, YYYYMMDD or YYYY-MM-DD') }),
    read: (args, data, limit) =>
      data.rows(sql`SELECT * FROM ${data.latest(plugin.table, DAILY_KEY, plugin.columns, sql`trade_date = ${date(args.trade_date)}`)} ORDER BY ts_code LIMIT ${int(limit)}`),
  });
}
