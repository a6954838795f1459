import { z } from 'zod';
import type { ClickHouseService } from '../../clickhouse/clickhouse.service.js';
import type { Sql } from '../../clickhouse/sql.js';

/**
 * One MCP data tool backed by one ClickHouse table. Adding a tool is one file that exports a
 * StockTool plus one line in tools/index.ts.
 */
export interface StockTool<Input extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  /** The table the tool reads; usage records take it from here. */
  table: string;
  /** Hard cap on rows returned; a result that hit it says so (truncated: true). */
  maxRows: number;
  /** Validates and normalizes arguments; its JSON Schema is what tools/list publishes. */
  input: Input;
  /** The SELECT for validated arguments. It must end with `LIMIT ${int(limit)}`: the runner asks for maxRows + 1 to detect truncation. */
  query(args: z.output<Input>, limit: number): Sql;
}

export type Row = Record<string, unknown>;

/** What every tool returns, as structuredContent and as JSON text. */
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
  rows: z.array(z.record(z.string(), z.unknown())).describe('The rows, one object per row'),
});

export function defineTool<Input extends z.ZodObject>(tool: StockTool<Input>): StockTool {
  return tool;
}

/** Runs a tool with already-validated arguments and applies its row cap. */
export async function runStockTool(tool: StockTool, args: unknown, clickhouse: ClickHouseService): Promise<ToolOutput> {
  const rows = await clickhouse.query<Row>(tool.query(args as z.output<z.ZodObject>, tool.maxRows + 1));
  const truncated = rows.length > tool.maxRows;
  const kept = truncated ? rows.slice(0, tool.maxRows) : rows;
  return { table: tool.table, row_count: kept.length, truncated, rows: kept };
}
