import { seriesOf } from '../../test/support/metric-series.js';
import { MetricsRegistry } from '../metrics/metrics-registry.js';
import { GatewayMetrics } from './gateway.metrics.js';

describe(GatewayMetrics.name, () => {
  it('should start every refusal reason, quota and scope at zero, so rate() works before the first refusal', async () => {
    const registry = new MetricsRegistry();
    const metrics = new GatewayMetrics(registry);

    expect(await seriesOf(registry, 'mcp_key_verifications_refused_total')).toEqual({ missing_key: 0, invalid_key: 0, throttled: 0, busy: 0, unavailable: 0 });
    expect(await seriesOf(registry, 'mcp_quota_refusals_total')).toEqual({
      'records_per_day/key': 0,
      'records_per_day/user': 0,
      'records_per_month/key': 0,
      'records_per_month/user': 0,
      'calls_per_day/key': 0,
      'calls_per_day/user': 0,
    });
    expect(await seriesOf(registry, 'mcp_concurrency_refusals_total')).toEqual({ key: 0, user: 0 });
    metrics.refuseKey('throttled');
    expect((await seriesOf(registry, 'mcp_key_verifications_refused_total')).throttled).toBe(1);
  });
});
