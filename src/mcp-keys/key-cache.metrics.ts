import { Injectable } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { MetricsRegistry } from '../metrics/metrics-registry.js';

/** How often ApiKeyVerifier answered from its cache and how often it had to ask ClickHouse. */
@Injectable()
export class KeyCacheMetrics {
  readonly hits: Counter;
  readonly misses: Counter;

  constructor(metrics: MetricsRegistry) {
    this.hits = metrics.counter('mcp_key_cache_hits_total', 'MCP requests whose API key verdict (valid, unknown or revoked) came from the cache');
    this.misses = metrics.counter('mcp_key_cache_misses_total', 'MCP requests whose API key had to be looked up in ClickHouse');
  }
}
