import { Injectable } from '@nestjs/common';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { type StockTool, toolOutputSchema } from './tools/stock-tool.js';
import { STOCK_TOOLS } from './tools/index.js';

type JsonSchemaObject = Tool['inputSchema'];

function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchemaObject {
  // draft-7 because the SDK client validates structuredContent against outputSchema with it.
  const { $schema: _dialect, ...jsonSchema } = z.toJSONSchema(schema, { target: 'draft-7', io }) as Record<string, unknown>;
  return jsonSchema as JsonSchemaObject;
}

/**
 * The tools the gateway serves. Definitions and their JSON Schemas are built once here, so a
 * per-request MCP server answers tools/list without converting schemas again.
 */
@Injectable()
export class ToolRegistry {
  readonly definitions: Tool[];
  private readonly byName: Map<string, StockTool>;

  constructor() {
    const tools: readonly StockTool[] = STOCK_TOOLS;
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
}
