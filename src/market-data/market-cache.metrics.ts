import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsRegistry } from '../metrics/metrics-registry.js';
import { MarketCache } from './market-cache.js';
import type { CacheCounts } from './result-cache.js';

/**
 * The market data cache's counts, read from the cache when scraped (it keeps them itself, so its
 * hot path touches no metric). Absent when the cache is off.
 */
@Injectable()
export class MarketCacheMetrics {
  constructor(metrics: MetricsRegistry, cache: MarketCache) {
    const results = cache.results;
    if (!results) return;
    const counter = (name: string, help: string, count: keyof CacheCounts) =>
      new Counter({
        name,
        help,
        registers: [metrics.registry],
        collect() {
          this.reset();
          this.inc(results.counts[count]);
        },
      });
    counter('mcp_market_cache_hits_total', 'Data tool calls answered from the market data cache', 'hits');
    counter('mcp_market_cache_shared_total', 'Data tool calls that joined an identical query under way (single flight)', 'shared');
    counter('mcp_market_cache_misses_total', 'Data tool calls that ran their own query (not cached, or the cache could not vouch for its answers)', 'misses');
    counter('mcp_market_cache_evictions_total', 'Cached answers evicted to stay within MARKET_CACHE_MAX_BYTES', 'evictions');
    counter('mcp_market_cache_invalidations_total', 'Cached answers dropped because a table they read changed (or a change check failed)', 'invalidations');
    new Gauge({ name: 'mcp_market_cache_bytes', help: 'Size of the cached answers (JSON length of their rows)', registers: [metrics.registry], collect() { this.set(results.bytes); } });
    new Gauge({ name: 'mcp_market_cache_entries', help: 'Cached answers', registers: [metrics.registry], collect() { this.set(results.size); } });
  }
}
