import { z } from 'zod';
import type { MarketDataRepository, Row } from './market-data.repository.js';

/**
 * One MCP data tool over the market tables. Adding a tool is one file that exports a StockTool
 * plus one line in its tool set (tools/index.ts).
 */
export interface StockTool<Input extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  /** The table the tool reads; usage records take it from here. */
  table: string;
  /** The data plugin the tool belongs to, in the original service's naming (the usage log's service_prefix). */
  servicePrefix: string;
  /** Tables these arguments make the tool read besides its own (adjusted prices read ods_adj_factor); scopes apply to them too. */
  alsoReads?(args: z.output<Input>): readonly string[];
  /** Hard cap on rows returned; a result that hit it says so (truncated: true). */
  maxRows: number;
  /** Validates and normalizes arguments; its JSON Schema is what tools/list publishes. */
  input: Input;
  /** Reads the rows for validated arguments: at most `limit` of them (maxRows + 1, so the runner can tell truncation). */
  read(args: z.output<Input>, data: MarketDataRepository, limit: number): Promise<Row[]>;
  /** The text content clients see; the JSON of the whole result unless a tool keeps another shape (or the arguments ask for CSV). */
  text?(output: ToolOutput, args: z.output<Input>): string;
}

/** What every tool returns, as structuredContent (and, unless the tool says otherwise, as JSON text). */
export interface ToolOutput {
  table: string;
  row_count: number;
  truncated: boolean;
  rows: Row[];
}

export const toolOutputSchema = z.object({
  table: z.string().describe('ClickHouse table the rows come from'),
  row_count: z.number().int().describe('Exact number of rows in `rows`'),
  truncated: z.boolean().describe('True when more rows matched than the tool returns; narrow the query'),
  rows: z.array(z.record(z.string(), z.unknown())).describe('The rows, one object per row; NULL values are null'),
});

/** A failure the caller can act on (no adjustment factors for a code, say), answered as a tool error with this text. */
export class ToolError extends Error {}

/**
 * Unknown argument names are refused (as the original's Python signatures did): a misspelled
 * filter silently dropped would return unfiltered data. tools/list then says additionalProperties: false.
 */
export function defineTool<Input extends z.ZodObject>(tool: StockTool<Input>): StockTool {
  return { ...tool, input: tool.input.strict() };
}

/**
 * Runs a tool with already-validated arguments and applies its row cap, or a lower one (what is
 * left of the caller's record quota).
 */
export async function runStockTool(tool: StockTool, args: unknown, data: MarketDataRepository, maxRows = tool.maxRows): Promise<ToolOutput> {
  return capRows(tool, await readRows(tool, args, data, maxRows), maxRows);
}

/** The rows a tool reads under a cap (its own unless lower): one more than the cap, so capRows can tell truncation. */
export function readRows(tool: StockTool, args: unknown, data: MarketDataRepository, maxRows = tool.maxRows): Promise<Row[]> {
  return tool.read(args as z.output<z.ZodObject>, data, Math.min(tool.maxRows, maxRows) + 1);
}

/** The output of rows read under the tool's cap (or a higher one), cut to the cap of this call. */
export function capRows(tool: StockTool, rows: readonly Row[], maxRows = tool.maxRows): ToolOutput {
  const cap = Math.min(tool.maxRows, maxRows);
  const truncated = rows.length > cap;
  return { table: tool.table, row_count: Math.min(rows.length, cap), truncated, rows: rows.slice(0, cap) };
}
