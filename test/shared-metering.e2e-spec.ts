import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasRedisServer, startRedis } from '../scripts/lib/local-redis.mjs';
import { pollUntil } from '../scripts/lib/poll.mjs';
import { rawClient } from './support/clickhouse.js';
import { createApiKey, rawRpc } from './support/mcp.js';
import { describeNeeding } from './support/required-tools.js';
import { type LoggedInUser, type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';
import { waitForCount } from './support/usage-log.js';
import { usageRecordFixture } from './support/usage-record.js';

const CODES = ['000001.SZ', '000002.SZ', '000063.SZ', '000333.SZ', '000568.SZ'];
const latestBars = (id: number, n: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'get_latest_bars', arguments: { ts_codes: CODES.slice(0, n) } } });
const SCRAPER_TOKEN = 'shared-metering-scraper-token-0123456789';
const describeWithRedis = describeNeeding({ 'redis-server': hasRedisServer() }, "scripts/ensure-cluster-tools.sh installs Debian's package");

/**
 * What a lone call's answer says: served (200 with a result), rate-limited (429) or out of quota
 * (-32003: 403 when refused at the door, in a 200 answer when calls racing it took what was left).
 */
function outcomeOf(response: { status: number; body: { result?: unknown; error?: { code: number } } }): string {
  if (response.status === 200 && response.body.result) return 'served';
  if (response.status === 429 && response.body.error?.code === -32029) return 'rate-limited';
  if ([200, 403].includes(response.status) && response.body.error?.code === -32003) return 'quota';
  return `unexpected ${response.status} ${JSON.stringify(response.body)}`;
}

describeWithRedis('Metering shared by two gateways through Redis (METERING_REDIS_URL) (e2e)', () => {
  let dir: string;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let gateways: TestApp[];
  let user: LoggedInUser;
  const both = () => gateways;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stock-mcp-shared-metering-'));
    redis = await startRedis({ dir: join(dir, 'redis') });
    const env = {
      DEMO_DATA: 'true',
      USAGE_FLUSH_INTERVAL_MS: '50',
      METERING_REDIS_URL: redis.url,
      JWT_SECRET: 'shared-metering-secret-0123456789abcdef',
      METRICS_TOKEN: SCRAPER_TOKEN,
      MCP_MAX_KEYS_PER_USER: '100',
      // No background refresh during the tests that stop Redis: its timeout would pause a gateway at a random moment.
      QUOTA_REFRESH_SECONDS: '3600',
    };
    const first = await startTestApp(env);
    const second = await startTestApp({ ...env, CLICKHOUSE_DATABASE: first.database }, { keepDatabase: true });
    gateways = [first, second];
    user = await registerAndLogin(first);
  }, 120_000);

  afterAll(async () => {
    await gateways?.[1].stop();
    await gateways?.[0].stop();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("admits exactly a key's calls per minute over both gateways, not that many on each", async () => {
    const key = await createApiKey(gateways[0], user.jwt, { key_name: 'shared rate', policy: { calls_per_minute: 6 } });
    const outcomes: string[] = [];
    for (let id = 1; id <= 12; id++) outcomes.push(outcomeOf(await rawRpc(both()[id % 2], latestBars(id, 1), key.api_key)));
    expect(outcomes).toEqual([...new Array(6).fill('served'), ...new Array(6).fill('rate-limited')]);
  });

  it('never lets calls on both gateways at once pass a daily call quota together', async () => {
    const key = await createApiKey(gateways[0], user.jwt, { key_name: 'shared calls', policy: { calls_per_day: 5 } });
    const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => rawRpc(both()[i % 2], latestBars(i + 1, 1), key.api_key)));
    const outcomes = responses.map(outcomeOf).sort();
    expect(outcomes).toEqual([...new Array(7).fill('quota'), ...new Array(5).fill('served')]);
    await waitForCount(gateways[0], key.key_id, 5);
  });

  it('cuts the call that crosses a record quota on the other gateway to what is left, then refuses on both', async () => {
    const key = await createApiKey(gateways[0], user.jwt, { key_name: 'shared records', policy: { records_per_day: 7 } });
    const first = await rawRpc(gateways[0], latestBars(1, 5), key.api_key).expect(200);
    expect(first.body.result._meta.usage).toMatchObject({ record_count: 5, limited_by_quota: false, quotas: [expect.objectContaining({ used: 5, remaining: 2 })] });
    // No wait for the usage log: the other gateway knows of those 5 records at once.
    const crossing = await rawRpc(gateways[1], latestBars(2, 5), key.api_key).expect(200);
    expect(crossing.body.result._meta.usage).toMatchObject({ record_count: 2, limited_by_quota: true, quotas: [expect.objectContaining({ used: 7, remaining: 0 })] });
    for (const gateway of gateways) {
      const refused = await rawRpc(gateway, latestBars(3, 1), key.api_key);
      expect(refused.status).toBe(403);
      expect(refused.body.error.data).toMatchObject({ quota: 'records_per_day', scope: 'key', limit: 7, used: 7, remaining: 0 });
    }
  });

  it('starts a counter from what the usage log already holds (calls recorded by the original service)', async () => {
    // A user neither gateway has counted yet: their counts are read from ClickHouse at their first call.
    const newcomer = await registerAndLogin(gateways[0]);
    const key = await createApiKey(gateways[0], newcomer.jwt, { key_name: 'shared seeded', policy: { calls_per_day: 3 } });
    const client = rawClient(gateways[0].database, gateways[0].clickhouseUrl);
    try {
      const earlier = [1, 2].map(() => usageRecordFixture({ user_id: newcomer.id, api_key_id: key.key_id }));
      await client.insert({ table: 'mcp_tool_usage_log', values: earlier, format: 'JSONEachRow' });
    } finally {
      await client.close();
    }
    const outcomes = [];
    for (let id = 1; id <= 3; id++) outcomes.push(outcomeOf(await rawRpc(both()[id % 2], latestBars(id, 1), key.api_key)));
    expect(outcomes).toEqual(['served', 'quota', 'quota']);
  });

  it('meters alone for a few seconds after Redis stops answering, instead of waiting for it on every call', async () => {
    const key = await createApiKey(gateways[1], user.jwt, { key_name: 'redis hung', policy: { calls_per_minute: 100, calls_per_day: 100 } });
    await rawRpc(gateways[1], latestBars(1, 1), key.api_key).expect(200);
    const failuresBefore = (await gateways[1].rest.get('/health').expect(200)).body.details.metering.shared_counter_failures;
    // A Redis that hangs: the connection stays open, commands time out (METERING_REDIS_TIMEOUT_MS).
    redis.child.kill('SIGSTOP');
    try {
      const outcomes = [];
      for (let id = 2; id <= 11; id++) outcomes.push(outcomeOf(await rawRpc(gateways[1], latestBars(id, 1), key.api_key)));
      expect(outcomes).toEqual(new Array(10).fill('served'));
      const metering = (await gateways[1].rest.get('/health').expect(200)).body.details.metering;
      // The first timeout paused the shared counters (a release still in flight may time out too):
      // not five timeouts per call, 50 in all.
      expect(metering).toMatchObject({ status: 'up', shared_counters: 'paused' });
      expect(metering.shared_counter_failures - failuresBefore).toBeGreaterThanOrEqual(1);
      expect(metering.shared_counter_failures - failuresBefore).toBeLessThanOrEqual(3);
    } finally {
      redis.child.kill('SIGCONT');
    }
  });

  it('keeps serving while Redis is down, each gateway counting alone, and shares again once it is back', async () => {
    expect((await gateways[0].rest.get('/health').expect(200)).body.details.metering).toMatchObject({ status: 'up', shared_counters: 'connected' });
    await redis.stop();
    const key = await createApiKey(gateways[0], user.jwt, { key_name: 'redis down', policy: { calls_per_minute: 2 } });
    // Without Redis the bound is per gateway: 2 calls a minute on each.
    for (const gateway of gateways) {
      const outcomes = [];
      for (let id = 1; id <= 3; id++) outcomes.push(outcomeOf(await rawRpc(gateway, latestBars(id, 1), key.api_key)));
      expect(outcomes).toEqual(['served', 'served', 'rate-limited']);
    }
    // Still healthy for the load balancer; the details and the metrics say what happened.
    const health = await gateways[0].rest.get('/health').expect(200);
    expect(health.body.details.metering).toMatchObject({ status: 'up', shared_counters: 'unreachable' });
    const metrics = await gateways[0].rest.get('/metrics').set('Authorization', `Bearer ${SCRAPER_TOKEN}`).expect(200);
    expect(metrics.text).toContain('\nmcp_metering_shared_counters_up 0\n');
    redis = await startRedis({ dir: join(dir, 'redis'), port: redis.port });
    // Both reconnect within 2 s (and a gateway whose command failed waits out its 5 s pause); then a
    // 1-per-minute key gets one call over both.
    const shared = await createApiKey(gateways[0], user.jwt, { key_name: 'redis back', policy: { calls_per_minute: 1 } });
    let id = 0;
    const secondRefused = await pollUntil(
      async () => {
        const fresh = await createApiKey(gateways[0], user.jwt, { key_name: `probe ${++id}`, policy: { calls_per_minute: 1 } });
        return [outcomeOf(await rawRpc(gateways[0], latestBars(1, 1), fresh.api_key)), outcomeOf(await rawRpc(gateways[1], latestBars(2, 1), fresh.api_key))];
      },
      (outcomes) => outcomes[1] === 'rate-limited',
      { timeoutMs: 15_000, intervalMs: 300 },
    );
    expect(secondRefused).toEqual(['served', 'rate-limited']);
    expect(outcomeOf(await rawRpc(gateways[1], latestBars(3, 1), shared.api_key))).toBe('served');
    expect(outcomeOf(await rawRpc(gateways[0], latestBars(4, 1), shared.api_key))).toBe('rate-limited');
    const back = await gateways[0].rest.get('/metrics').set('Authorization', `Bearer ${SCRAPER_TOKEN}`).expect(200);
    expect(back.text).toContain('\nmcp_metering_shared_counters_up 1\n');
  });
});
