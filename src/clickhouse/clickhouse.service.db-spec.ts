import { type Socket, createServer } from 'node:net';
import { clickHouseUrl } from '../../test/support/clickhouse.js';
import { loadAppConfig } from '../config/app-config.js';
import { ClickHouseService } from './clickhouse.service.js';
import { sql } from './sql.js';

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

  it('should read twice around the grace for a sign-in, found or not, so timing tells nothing', async () => {
    const service = serviceWith({ CLICKHOUSE_CLUSTER: 'stock_cluster', CLICKHOUSE_REPLICATION_GRACE_MS: '60' });
    for (const misses of [0, 1, 5]) {
      const lookUp = lookUpFoundAfter(misses);
      const started = Date.now();
      expect(await service.lookUpEvenly(lookUp)).toBe(misses < 2 ? 'row' : undefined);
      expect(lookUp.calls).toBe(2);
      expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    }
    await service.onApplicationShutdown();
  });

  it('should look once on one server, or when the grace is 0', async () => {
    for (const env of [{}, { CLICKHOUSE_CLUSTER: 'stock_cluster', CLICKHOUSE_REPLICATION_GRACE_MS: '0' }] as Record<string, string>[]) {
      const service = serviceWith(env);
      const lookUp = lookUpFoundAfter(1);
      expect(await service.lookUpRecent(lookUp)).toBeUndefined();
      expect(lookUp.calls).toBe(1);
      const even = lookUpFoundAfter(1);
      expect(await service.lookUpEvenly(even)).toBeUndefined();
      expect(even.calls).toBe(1);
      await service.onApplicationShutdown();
    }
  });
});

describe('ClickHouseService with a list of replicas', () => {
  const sockets: Socket[] = [];
  // A server that accepts connections and never answers: a hung replica.
  const hung = createServer((socket) => sockets.push(socket));
  let hungUrl: string;

  beforeAll(async () => {
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    hungUrl = `http://127.0.0.1:${(hung.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => hung.close(resolve));
  });

  it('should keep to a replica whose request its caller abandoned, and leave one that does not answer', async () => {
    const service = new ClickHouseService(loadAppConfig({ CLICKHOUSE_URL: `${hungUrl},${clickHouseUrl()}`, CLICKHOUSE_DATABASE: 'default', CLICKHOUSE_REQUEST_TIMEOUT_MS: '500' }));
    try {
      const abandoned = service.query(sql`SELECT 1 AS n`, { signal: AbortSignal.timeout(100) });
      await expect(abandoned).rejects.toThrow();
      expect(service.serverInUse).toBe(new URL(hungUrl).host);
      // Unabandoned, the read times out there and is asked again on the next replica, which it keeps.
      expect(await service.query<{ n: number }>(sql`SELECT 1 AS n`)).toEqual([{ n: 1 }]);
      expect(service.serverInUse).toBe(new URL(clickHouseUrl()).host);
    } finally {
      await service.onApplicationShutdown();
    }
  });
});
