import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsRegistry } from '../metrics/metrics-registry.js';
import { MeteringService } from './metering.service.js';

/**
 * The shared metering counters (METERING_REDIS_URL), read when Prometheus scrapes: whether Redis
 * answers, and how often a call was metered in this process instead because it did not.
 */
@Injectable()
export class MeteringMetrics {
  readonly sharedCountersUp: Gauge;
  readonly sharedFailures: Counter;

  constructor(metrics: MetricsRegistry, metering: MeteringService) {
    const registers = [metrics.registry];
    this.sharedCountersUp = new Gauge({
      name: 'mcp_metering_shared_counters_up',
      help: '1 while rate limits and quotas are counted in the shared Redis, 0 while it does not answer or is paused after a failure (absent without METERING_REDIS_URL)',
      registers,
      collect() {
        const { state } = metering.sharedCountersState();
        if (state === 'off') this.reset();
        else this.set(state === 'connected' ? 1 : 0);
      },
    });
    this.sharedFailures = new Counter({
      name: 'mcp_metering_shared_counter_failures_total',
      help: 'Metering decisions made by this gateway alone because the shared Redis failed or timed out',
      registers,
      collect() {
        this.reset();
        this.inc(metering.sharedCountersState().failures);
      },
    });
  }
}
