import { z } from 'zod';
import { echo } from '../common/echo.js';
import type { Row } from './market-data.repository.js';
import type { StockTool, ToolOutput } from './stock-tool.js';

/** Column names a tool can return besides its fixed ones (get_daily_bars' ma5, ma20, …); the tool's `refine` checks them against its other arguments. */
export interface ExtraFields {
  /** What the names look like, e.g. /^ma\d{1,3}$/. */
  pattern: RegExp;
  /** The JSON Schema hint, e.g. 'ma<N> for a window N in `ma`'. */
  hint: string;
}

export const formatArg = z
  .enum(['json', 'csv'])
  .default('json')
  .describe(
    'Text form of the result. json (default): the JSON of the result. csv: a header line and one line per row, ' +
      'about half the bytes of json for the same rows (fewer tokens); use it for series of more than a few rows. ' +
      'structuredContent is the same either way.',
  );

/**
 * The `fields` argument: 1 or more of the tool's columns, each once, in the order wanted. Names are
 * matched against the fixed list here and only used as keys of rows already read, never in SQL.
 */
export function fieldsArg(columns: readonly [string, ...string[]], extra?: ExtraFields) {
  const expected = `expected one of ${columns.join(', ')}${extra ? ` or ${extra.hint}` : ''}`;
  const unknown = { error: (issue: { input?: unknown }) => `Unknown field ${echo(issue.input)}: ${expected}` };
  // An enum, so tools/list shows the names; the extra shape (ma<N>) as a pattern beside it.
  const name = extra ? z.union([z.enum(columns, unknown), z.string().regex(extra.pattern, unknown)], unknown) : z.enum(columns, unknown);
  return z
    .array(name)
    .min(1)
    .max(columns.length + 5)
    .refine((names) => new Set(names).size === names.length, { error: 'Each field may be named once' })
    .optional()
    .describe(`Columns to return, in this order (${expected}); omit for all. Fewer columns, fewer tokens.`);
}

/** Each row reduced to `fields`, in that order; a column a row lacks (a table without it) is null. */
export function selectFields(rows: Row[], fields: readonly string[] | undefined): Row[] {
  if (!fields) return rows;
  return rows.map((row) => Object.fromEntries(fields.map((field) => [field, row[field] ?? null])));
}

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break; null is empty. */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A header line of `columns`, then one line per row; lines end with \n (none after the last). */
export function csvText(rows: readonly Row[], columns: readonly string[]): string {
  return [columns, ...rows.map((row) => columns.map((column) => row[column]))].map((line) => line.map(csvField).join(',')).join('\n');
}

/** What every tool's description tells agents about these arguments (the schema says the rest). */
const SHAPE_HINT = 'fields picks the columns (e.g. ["trade_date", "close"]); format "csv" returns the rows as CSV text, about half the bytes of json: use both for more than a few rows.';

interface ShapeArgs {
  fields?: string[];
  format: 'json' | 'csv';
}

/**
 * A `stock` tool with `fields` and `format`: the rows keep the chosen columns (in structuredContent
 * too), and the text is the result's JSON or CSV of the rows. `columnsFor` names the columns a
 * result of these arguments has, for a CSV header when no row came back and no fields were asked;
 * `refine` checks fields against the tool's other arguments.
 */
export function withResultShape<Input extends z.ZodObject>(
  tool: StockTool<Input>,
  columnsFor: (args: z.output<Input>) => readonly string[],
  fields: ReturnType<typeof fieldsArg>,
  refine?: (args: z.output<Input> & ShapeArgs, ctx: z.RefinementCtx) => void,
): StockTool<Input> {
  const extended = tool.input.safeExtend({ fields, format: formatArg });
  const input = (refine ? extended.superRefine((args, ctx) => refine(args as z.output<Input> & ShapeArgs, ctx)) : extended) as unknown as Input;
  const shapeOf = (args: z.output<Input>) => args as z.output<Input> & ShapeArgs;
  return {
    ...tool,
    description: `${tool.description} ${SHAPE_HINT}`,
    input,
    read: async (args, data, limit) => selectFields(await tool.read(args, data, limit), shapeOf(args).fields),
    text: (output: ToolOutput, args: z.output<Input>) => {
      const { fields: chosen, format } = shapeOf(args);
      if (format === 'json') return JSON.stringify(output);
      return csvText(output.rows, chosen ?? (output.rows[0] ? Object.keys(output.rows[0]) : columnsFor(args)));
    },
  };
}
