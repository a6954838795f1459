import { Injectable, Logger } from '@nestjs/common';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { StoreSchemaError, StoreUnavailableError } from '../clickhouse/clickhouse-errors.js';
import { echo } from '../common/echo.js';
import { logOnce } from '../common/log-once.js';
import { findJsonProblem } from '../common/untrusted-json.js';
import { MarketCache } from './market-cache.js';
import { type StockTool, ToolError } from './stock-tool.js';
import { ToolRegistry } from './tool-registry.js';

/** What one tools/call did: the MCP result plus the facts the usage log records. */
export interface ToolCallOutcome {
  result: CallToolResult;
  toolName: string;
  /** Empty when the tool is unknown. */
  table: string;
  /** The tool's data plugin (empty when the tool is unknown). */
  servicePrefix: string;
  /** Exactly the rows returned to the caller. */
  recordCount: number;
  errorMessage: string | null;
  unknownTool: boolean;
  /** The rows came from the market data cache (no query of this call's own); metered all the same. */
  cached: boolean;
}

/** Longest tool error text: validation messages quote the caller's input, which is hostile. */
const MAX_ERROR_TEXT = 2000;

/** What a caller's key allows one call: fewer rows, and not every table. */
export interface CallLimits {
  maxRows?: number;
  /** Why the caller may not read this table; undefined when it may. */
  refuseTable?: (table: string) => string | undefined;
}

function refusedSecondaryTable(tool: StockTool, args: unknown, refuseTable: CallLimits['refuseTable']): string | undefined {
  if (!refuseTable || !tool.alsoReads) return undefined;
  for (const table of tool.alsoReads(args as z.output<z.ZodObject>)) {
    const refusal = refuseTable(table);
    if (refusal) return refusal;
  }
  return undefined;
}

const errorResult = (text: string): CallToolResult => ({ isError: true, content: [{ type: 'text', text }] });

/** Validates arguments, runs the tool against ClickHouse and shapes its result. */
@Injectable()
export class ToolCallHandler {
  private readonly logger = new Logger(ToolCallHandler.name);

  constructor(
    private readonly registry: ToolRegistry,
    private readonly cache: MarketCache,
  ) {}

  /**
   * `maxRows` lowers the tool's own row cap (what is left of a record quota); `refuseTable` says why
   * the caller may not read a table the arguments make the tool read besides its own.
   */
  async call(toolName: string, rawArgs: unknown, limits: CallLimits = {}): Promise<ToolCallOutcome> {
    const tool = this.registry.get(toolName);
    const failed = (message: string) => this.refuse(toolName, message);
    if (!tool) return failed(`Unknown tool: ${echo(toolName)}`);

    const problem = findJsonProblem(rawArgs);
    if (problem) return failed(`Invalid arguments for ${toolName}: ${problem.message}`);
    const parsed = tool.input.safeParse(rawArgs ?? {});
    if (!parsed.success) return failed(`Invalid arguments for ${toolName}:\n${z.prettifyError(parsed.error)}`);
    const refusal = refusedSecondaryTable(tool, parsed.data, limits.refuseTable);
    if (refusal) return failed(refusal);

    try {
      const { output, cached } = await this.cache.run(tool, parsed.data, limits.maxRows);
      return {
        result: { content: [{ type: 'text', text: tool.text?.(output, parsed.data) ?? JSON.stringify(output) }], structuredContent: { ...output } },
        toolName,
        table: tool.table,
        servicePrefix: tool.servicePrefix,
        recordCount: output.row_count,
        errorMessage: null,
        unknownTool: false,
        cached,
      };
    } catch (error) {
      return failed(this.describeFailure(tool, error));
    }
  }

  /** The tool error answering a call that is not run (bad arguments, outside the key's scope). */
  refuse(toolName: string, message: string): ToolCallOutcome {
    const tool = this.registry.get(toolName);
    const text = message.length > MAX_ERROR_TEXT ? `${message.slice(0, MAX_ERROR_TEXT).toWellFormed()}…` : message;
    return { result: errorResult(text), toolName, table: tool?.table ?? '', servicePrefix: tool?.servicePrefix ?? '', recordCount: 0, errorMessage: text, unknownTool: !tool, cached: false };
  }

  /** "Try again" only when trying again can help; a schema mismatch names what is missing instead. */
  private describeFailure(tool: StockTool, error: unknown): string {
    if (error instanceof ToolError) return error.message;
    if (error instanceof StoreUnavailableError) {
      this.logger.warn({ tool: tool.name, err: error.cause }, 'tool query failed: database unavailable');
      return `${tool.name} could not read ${tool.table}: the data store did not answer. Try again shortly.`;
    }
    if (error instanceof StoreSchemaError) {
      const message = `${tool.name} cannot read ${tool.table}: ${error.detail}. The table does not have the shape this tool needs; an operator must fix the database (retrying will not help).`;
      logOnce(this.logger, `${tool.name}\n${error.detail}`, { tool: tool.name, table: tool.table }, message);
      return message;
    }
    this.logger.error({ tool: tool.name, err: error }, 'tool query failed');
    return `${tool.name} failed unexpectedly while reading ${tool.table}.`;
  }
}
