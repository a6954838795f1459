import { Injectable, Logger } from '@nestjs/common';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { ToolRegistry } from './tool-registry.js';
import { runStockTool } from './tools/stock-tool.js';

/** What one tools/call did: the MCP result plus the facts the usage log records. */
export interface ToolCallOutcome {
  result: CallToolResult;
  toolName: string;
  /** Empty when the tool is unknown. */
  table: string;
  /** Exactly the rows returned to the caller. */
  recordCount: number;
  errorMessage: string | null;
  unknownTool: boolean;
}

const errorResult = (text: string): CallToolResult => ({ isError: true, content: [{ type: 'text', text }] });

/** Validates arguments, runs the tool against ClickHouse and shapes its result. */
@Injectable()
export class ToolCallHandler {
  private readonly logger = new Logger(ToolCallHandler.name);

  constructor(
    private readonly registry: ToolRegistry,
    private readonly clickhouse: ClickHouseService,
  ) {}

  async call(toolName: string, rawArgs: unknown): Promise<ToolCallOutcome> {
    const tool = this.registry.get(toolName);
    const failed = (message: string, table = tool?.table ?? '') => ({
      result: errorResult(message),
      toolName,
      table,
      recordCount: 0,
      errorMessage: message,
      unknownTool: !tool,
    });
    if (!tool) return failed(`Unknown tool: ${toolName}`);

    const parsed = tool.input.safeParse(rawArgs ?? {});
    if (!parsed.success) return failed(`Invalid arguments for ${toolName}:\n${z.prettifyError(parsed.error)}`);

    try {
      const output = await runStockTool(tool, parsed.data, this.clickhouse);
      return {
        result: { content: [{ type: 'text', text: JSON.stringify(output) }], structuredContent: { ...output } },
        toolName,
        table: tool.table,
        recordCount: output.row_count,
        errorMessage: null,
        unknownTool: false,
      };
    } catch (error) {
      this.logger.error({ tool: toolName, err: error }, 'tool query failed');
      return failed(`${toolName} could not read ${tool.table}: the data store did not answer. Try again shortly.`);
    }
  }
}
