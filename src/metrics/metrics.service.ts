import { Injectable } from '@nestjs/common';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { MARKET_TABLES } from '../market-data/market-tables.js';
import { ToolRegistry } from '../market-data/tool-registry.js';
import { QUOTA_NAMES } from '../mcp-keys/key-policy.js';
import { KnownLabels } from './known-labels.js';

/** From a cached lookup (about a millisecond) to a slow ClickHouse query (the read timeout is seconds). */
const TOOL_CALL_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Why the MCP port's key guard refused a request. */
export type KeyRefusalReason = 'missing_key' | 'invalid_key' | 'throttled' | 'busy' | 'unavailable';
const KEY_REFUSAL_REASONS: readonly KeyRefusalReason[] = ['missing_key', 'invalid_key', 'throttled', 'busy', 'unavailable'];

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
 * The gateway's Prometheus instruments, served by GET /metrics. Modules inject this and call the
 * public instruments (`metrics.keyCacheHits.inc()`); tool calls go through observeToolCall, which
 * keeps tool and table names from the network to known label values.
 */
@Injectable()
export class Metrics {
  /** Not prom-client's global registry: each app (tests start several in one process) counts its own. */
  readonly registry = new Registry();

  readonly toolCalls = this.counter('mcp_tool_calls_total', 'tools/call executed, by tool and outcome (error: unknown tool, invalid arguments, data store failure)', ['tool', 'outcome']);

  readonly toolCallDuration = new Histogram({
    name: 'mcp_tool_call_duration_seconds',
    help: 'Time a tools/call took to run, by tool',
    labelNames: ['tool'] as const,
    buckets: TOOL_CALL_SECONDS_BUCKETS,
    registers: [this.registry],
  });

  readonly recordsReturned = this.counter('mcp_tool_records_returned_total', 'Rows tool calls returned, by the table they read', ['table']);

  readonly keyCacheHits = this.counter('mcp_key_cache_hits_total', 'MCP requests whose API key verdict (valid, unknown or revoked) came from the cache');

  readonly keyCacheMisses = this.counter('mcp_key_cache_misses_total', 'MCP requests whose API key had to be looked up in ClickHouse');

  readonly keyVerificationsRefused = this.counter(
    'mcp_key_verifications_refused_total',
    'MCP requests refused by the API key check, by reason (missing_key, invalid_key, throttled, busy, unavailable)',
    ['reason'],
  );

  readonly rateLimitRefusals = this.counter('mcp_rate_limit_refusals_total', "Tool calls refused by their key's calls-per-minute limit");

  readonly quotaRefusals = this.counter('mcp_quota_refusals_total', 'Tool calls refused by a used-up quota, by quota (records_per_day, records_per_month, calls_per_day) and scope (key, user)', ['quota', 'scope']);

  readonly concurrencyRefusals = this.counter(
    'mcp_concurrency_refusals_total',
    'Tool calls refused because too many calls were running at once, by scope (key: MCP_CALLS_PER_KEY and its queue, user: MCP_CONCURRENT_CALLS_PER_USER)',
    ['scope'],
  );

  private readonly byTool: KnownLabels<ToolChildren>;
  private readonly byTable: KnownLabels<Counter.Internal>;

  constructor(tools: ToolRegistry) {
    collectDefaultMetrics({ register: this.registry });
    // Known series start at zero, so rate() and absence alerts work before the first call.
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
    for (const reason of KEY_REFUSAL_REASONS) this.keyVerificationsRefused.inc({ reason }, 0);
    this.rateLimitRefusals.inc(0);
    for (const quota of QUOTA_NAMES) for (const scope of ['key', 'user']) this.quotaRefusals.inc({ quota, scope }, 0);
    for (const scope of ['key', 'user']) this.concurrencyRefusals.inc({ scope }, 0);
  }

  observeToolCall(call: ToolCallObservation): void {
    const tool = this.byTool.get(call.tool);
    (call.failed ? tool.failed : tool.succeeded).inc();
    tool.duration.observe(call.seconds);
    if (call.records > 0) this.byTable.get(call.table).inc(call.records);
  }

  refuseKey(reason: KeyRefusalReason): void {
    this.keyVerificationsRefused.inc({ reason });
  }

  private counter<Label extends string = never>(name: string, help: string, labelNames: readonly Label[] = []): Counter<Label> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
}

function zeroed(counter: Counter.Internal): Counter.Internal {
  counter.inc(0);
  return counter;
}
