import { Inject, Injectable } from '@nestjs/common';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { type StockTool, toolOutputSchema } from './stock-tool.js';
import { TOOL_SETS } from './tools/index.js';

type JsonSchemaObject = Tool['inputSchema'];

function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchemaObject {
  // draft-7 because the SDK client validates structuredContent against outputSchema with it.
  const { $schema: _dialect, ...jsonSchema } = z.toJSONSchema(schema, { target: 'draft-7', io }) as Record<string, unknown>;
  return jsonSchema as JsonSchemaObject;
}

/**
 * The tools the gateway serves: the sets MCP_TOOL_SETS names. Only they are listed, and only
 * they can be called. Definitions and their JSON Schemas are built once here, so a per-request
 * MCP server answers tools/list without converting schemas again.
 */
@Injectable()
export class ToolRegistry {
  readonly definitions: Tool[];
  private readonly byName: Map<string, StockTool>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const tools: readonly StockTool[] = config.mcp.toolSets.flatMap((set) => TOOL_SETS[set]);
    const outputSchema = jsonSchemaOf(toolOutputSchema, 'output');
    this.byName = new Map(tools.map((tool) => [tool.name, tool]));
    this.definitions = tools.map((tool) => ({
      name: tool.name,
      title: tool.title,
      description: `${tool.description} Reads table ${tool.table}; returns at most ${tool.maxRows} rows.`,
      inputSchema: jsonSchemaOf(tool.input, 'input'),
      outputSchema,
      annotations: { title: tool.title, readOnlyHint: true, openWorldHint: false },
    }));
  }

  get(name: string): StockTool | undefined {
    return this.byName.get(name);
  }

  /** The tables the served tools read. */
  tables(): ReadonlySet<string> {
    return new Set([...this.byName.values()].map((tool) => tool.table));
  }
}
