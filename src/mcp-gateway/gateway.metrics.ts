import { Injectable } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { QUOTA_NAMES } from '../config/settings.js';
import { MetricsRegistry } from '../metrics/metrics-registry.js';

/** Why the MCP port's key guard refused a request. */
export type KeyRefusalReason = 'missing_key' | 'invalid_key' | 'throttled' | 'busy' | 'unavailable';
const KEY_REFUSAL_REASONS: readonly KeyRefusalReason[] = ['missing_key', 'invalid_key', 'throttled', 'busy', 'unavailable'];
const SCOPES = ['key', 'user'] as const;

/** Requests and tool calls the MCP port refused, by why; every known series starts at zero. */
@Injectable()
export class GatewayMetrics {
  readonly keyVerificationsRefused: Counter<'reason'>;
  readonly rateLimitRefusals: Counter;
  readonly quotaRefusals: Counter<'quota' | 'scope'>;
  readonly concurrencyRefusals: Counter<'scope'>;

  constructor(metrics: MetricsRegistry) {
    this.keyVerificationsRefused = metrics.counter(
      'mcp_key_verifications_refused_total',
      'MCP requests refused by the API key check, by reason (missing_key, invalid_key, throttled, busy, unavailable)',
      ['reason'],
    );
    this.rateLimitRefusals = metrics.counter('mcp_rate_limit_refusals_total', "Tool calls refused by their key's calls-per-minute limit");
    this.quotaRefusals = metrics.counter('mcp_quota_refusals_total', `Tool calls refused by a used-up quota, by quota (${QUOTA_NAMES.join(', ')}) and scope (key, user)`, ['quota', 'scope']);
    this.concurrencyRefusals = metrics.counter(
      'mcp_concurrency_refusals_total',
      'Tool calls refused because too many calls were running at once, by scope (key: MCP_CALLS_PER_KEY and its queue, user: MCP_CONCURRENT_CALLS_PER_USER)',
      ['scope'],
    );
    for (const reason of KEY_REFUSAL_REASONS) this.keyVerificationsRefused.inc({ reason }, 0);
    this.rateLimitRefusals.inc(0);
    for (const quota of QUOTA_NAMES) for (const scope of SCOPES) this.quotaRefusals.inc({ quota, scope }, 0);
    for (const scope of SCOPES) this.concurrencyRefusals.inc({ scope }, 0);
  }

  refuseKey(reason: KeyRefusalReason): void {
    this.keyVerificationsRefused.inc({ reason });
  }
}
