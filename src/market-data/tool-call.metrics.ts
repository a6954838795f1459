import { Injectable } from '@nestjs/common';
import { type Counter, Histogram } from 'prom-client';
import { KnownLabels } from '../metrics/known-labels.js';
import { MetricsRegistry, zeroed } from '../metrics/metrics-registry.js';
import { MARKET_TABLES } from './market-tables.js';
import { ToolRegistry } from './tool-registry.js';

/** From a cached lookup (about a millisecond) to a slow ClickHouse query (the read timeout is seconds). */
const TOOL_CALL_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One finished tool call as the usage interceptor saw it; `tool` and `table` may be anything a caller sent. */
export interface ToolCallObservation {
  tool: string;
  table: string;
  records: number;
  failed: boolean;
  seconds: number;
}

interface ToolChildren {
  succeeded: Counter.Internal;
  failed: Counter.Internal;
  duration: Histogram.Internal<'tool'>;
}

/**
 * Tool calls by tool, outcome and table read. observeToolCall keeps tool and table names from the
 * network to the served tools and the market tables, the label values this module knows.
 */
@Injectable()
export class ToolCallMetrics {
  readonly toolCalls: Counter<'tool' | 'outcome'>;
  readonly toolCallDuration: Histogram<'tool'>;
  readonly recordsReturned: Counter<'table'>;

  private readonly byTool: KnownLabels<ToolChildren>;
  private readonly byTable: KnownLabels<Counter.Internal>;

  constructor(metrics: MetricsRegistry, tools: ToolRegistry) {
    this.toolCalls = metrics.counter('mcp_tool_calls_total', 'tools/call executed, by tool and outcome (error: unknown tool, invalid arguments, data store failure)', ['tool', 'outcome']);
    this.toolCallDuration = new Histogram({
      name: 'mcp_tool_call_duration_seconds',
      help: 'Time a tools/call took to run, by tool',
      labelNames: ['tool'] as const,
      buckets: TOOL_CALL_SECONDS_BUCKETS,
      registers: [metrics.registry],
    });
    this.recordsReturned = metrics.counter('mcp_tool_records_returned_total', 'Rows tool calls returned, by the table they read', ['table']);
    this.byTool = new KnownLabels(
      tools.definitions.map((tool) => tool.name),
      (tool) => {
        this.toolCallDuration.zero({ tool });
        return { succeeded: zeroed(this.toolCalls.labels(tool, 'success')), failed: zeroed(this.toolCalls.labels(tool, 'error')), duration: this.toolCallDuration.labels(tool) };
      },
    );
    this.byTable = new KnownLabels(
      MARKET_TABLES.map((table) => table.name),
      (table) => zeroed(this.recordsReturned.labels(table)),
    );
  }

  observeToolCall(call: ToolCallObservation): void {
    const tool = this.byTool.get(call.tool);
    (call.failed ? tool.failed : tool.succeeded).inc();
    tool.duration.observe(call.seconds);
    if (call.records > 0) this.byTable.get(call.table).inc(call.records);
  }
}
