import { loadAppConfig } from '../config/app-config.js';
import { ClickHouseService } from './clickhouse.service.js';

/** A lookup that finds nothing the first `misses` times, counting its calls. */
function lookUpFoundAfter(misses: number) {
  const lookUp = () => Promise.resolve(++lookUp.calls > misses ? 'row' : undefined);
  lookUp.calls = 0;
  return lookUp;
}

describe('ClickHouseService.lookUpRecent', () => {
  const serviceWith = (env: Record<string, string>) => new ClickHouseService(loadAppConfig({ CLICKHOUSE_URL: 'http://127.0.0.1:8123', ...env }));

  it('should ask once more after the grace when replicas may not have the row yet', async () => {
    for (const env of [{ CLICKHOUSE_CLUSTER: 'stock_cluster' }, { CLICKHOUSE_URL: 'http://127.0.0.1:8123,http://127.0.0.1:8124' }] as Record<string, string>[]) {
      const service = serviceWith({ ...env, CLICKHOUSE_REPLICATION_GRACE_MS: '60' });
      const lookUp = lookUpFoundAfter(1);
      const started = Date.now();
      expect(await service.lookUpRecent(lookUp)).toBe('row');
      expect(lookUp.calls).toBe(2);
      expect(Date.now() - started).toBeGreaterThanOrEqual(55);
      // Found at once: no second look; missing twice: undefined after two.
      const found = lookUpFoundAfter(0);
      expect(await service.lookUpRecent(found)).toBe('row');
      expect(found.calls).toBe(1);
      const missing = lookUpFoundAfter(5);
      expect(await service.lookUpRecent(missing)).toBeUndefined();
      expect(missing.calls).toBe(2);
      await service.onApplicationShutdown();
    }
  });

  it('should look once on one server, or when the grace is 0', async () => {
    for (const env of [{}, { CLICKHOUSE_CLUSTER: 'stock_cluster', CLICKHOUSE_REPLICATION_GRACE_MS: '0' }] as Record<string, string>[]) {
      const service = serviceWith(env);
      const lookUp = lookUpFoundAfter(1);
      expect(await service.lookUpRecent(lookUp)).toBeUndefined();
      expect(lookUp.calls).toBe(1);
      await service.onApplicationShutdown();
    }
  });
});
