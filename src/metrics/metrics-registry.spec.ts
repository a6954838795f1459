import { MetricsRegistry } from './metrics-registry.js';

describe(MetricsRegistry.name, () => {
  it('should own its registry, with the process metrics, apart from any other instance', async () => {
    const [mine, other] = [new MetricsRegistry(), new MetricsRegistry()];
    const [counted, untouched] = [mine.counter('spec_events_total', 'events'), other.counter('spec_events_total', 'events')];
    counted.inc();
    expect([(await counted.get()).values[0].value, (await untouched.get()).values[0].value]).toEqual([1, 0]);
    expect(await mine.registry.metrics()).toMatch(/^process_cpu_user_seconds_total \d/m);
  });
});
