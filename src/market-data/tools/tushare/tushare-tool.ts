import { z } from 'zod';
import type { ToolOutput } from '../../stock-tool.js';
import { dateArg, requireStartNotAfterEnd, tsCodeArg } from '../../tool-args.js';

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

export const tradeDateInput = z.object({ trade_date: dateArg('The trade date, YYYYMMDD or YYYY-MM-DD') });

/** The latest trade date of a table as the original returned it: the date alone, as text. */
export const latestDateText = (table: string) => (output: ToolOutput) => (output.rows[0]?.trade_date as string | undefined) ?? `no trade dates in ${table} yet`;
