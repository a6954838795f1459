import type { MetricValueWithName } from 'prom-client';
import type { MetricsRegistry } from '../../src/metrics/metrics-registry.js';

/** Every series of one metric as `labels -> value` (histograms: their _count series). */
export async function seriesOf(metrics: MetricsRegistry, name: string): Promise<Record<string, number>> {
  const metric = await metrics.registry.getSingleMetric(name)!.get();
  const series = (metric.values as MetricValueWithName<string>[]).filter((value) => value.metricName === undefined || value.metricName === `${name}_count`);
  return Object.fromEntries(series.map((value) => [Object.values(value.labels).join('/'), value.value]));
}
