import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeStablePort, hasClickHouseServer, type LocalClickHouse, startLocalClickHouse } from '../scripts/lib/local-clickhouse.mjs';
import { hasZooKeeper, startZooKeeper } from '../scripts/lib/local-zookeeper.mjs';
import { pollUntil } from '../scripts/lib/poll.mjs';
import { queryRows, rawClient, uniqueDatabaseName } from './support/clickhouse.js';
import { createApiKey, rawRpc } from './support/mcp.js';
import { type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';

const CLUSTER = 'stock_cluster';
const available = hasZooKeeper() && hasClickHouseServer();
const describeWithCluster = available ? describe : describe.skip;
if (!available) console.warn("Skipping the cluster test: it needs Debian's zookeeper and clickhouse-server (scripts/ensure-cluster-tools.sh installs them)");

const toolsList = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
const toolCall = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'search_stocks', arguments: { query: '600', limit: 2 } } });

describeWithCluster('Cluster mode: two gateways on two replicas of a replicated ClickHouse (e2e)', () => {
  let dir: string;
  let zookeeper: Awaited<ReturnType<typeof startZooKeeper>>;
  const replicas: LocalClickHouse[] = [];
  let gateways: TestApp[] = [];
  const database = uniqueDatabaseName('cluster');

  const count = async (replica: LocalClickHouse, query: string) => {
    const client = rawClient(database, replica.url);
    try {
      return Number((await queryRows<{ n: string }>(client, query))[0].n);
    } finally {
      await client.close();
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stock-mcp-cluster-'));
    zookeeper = await startZooKeeper({ dir: join(dir, 'zookeeper') });
    const tcpPorts = [await freeStablePort(), await freeStablePort()];
    for (const [index, tcpPort] of tcpPorts.entries()) {
      const cluster = { name: CLUSTER, zookeeperPort: zookeeper.port, replica: `r${index + 1}`, interserverPort: await freeStablePort(), replicas: tcpPorts };
      replicas.push(await startLocalClickHouse({ dir: join(dir, `clickhouse-${index + 1}`), tcpPort, cluster }));
    }
    // Both gateways start at once, each on its own replica: the schema is created ON CLUSTER once.
    // The polls below ask with keys that have not reached a replica yet: not a stranger's guessing.
    const env = (replica: LocalClickHouse) => ({
      CLICKHOUSE_URL: replica.url,
      CLICKHOUSE_DATABASE: database,
      CLICKHOUSE_CLUSTER: CLUSTER,
      DEMO_DATA: 'true',
      USAGE_FLUSH_INTERVAL_MS: '50',
      MCP_AUTH_FAILURE_LIMIT: '1000',
      JWT_SECRET: 'cluster-secret-long-enough-0123456789abcdef',
    });
    gateways = await Promise.all(replicas.map((replica) => startTestApp(env(replica), { keepDatabase: true })));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await Promise.all(replicas.map((replica) => replica.stop()));
    await zookeeper?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('should create every table on both replicas with a Replicated engine', async () => {
    const engines = async (replica: LocalClickHouse) => {
      const client = rawClient(database, replica.url);
      try {
        return await queryRows<{ name: string; engine: string }>(client, "SELECT name, engine FROM system.tables WHERE database = currentDatabase() AND engine != 'MaterializedView' ORDER BY name");
      } finally {
        await client.close();
      }
    };
    const [first, second] = await Promise.all(replicas.map(engines));
    expect(first).toEqual(second);
    expect(first.length).toBeGreaterThan(10);
    expect(first.filter((table) => !table.engine.startsWith('Replicated'))).toEqual([]);
    expect(first.find((table) => table.name === 'mcp_tool_usage_log')?.engine).toBe('ReplicatedMergeTree');
    expect(first.find((table) => table.name === 'mcp_api_keys')?.engine).toBe('ReplicatedReplacingMergeTree');
  });

  it('should let a user registered on one gateway use a key from the other, and record every call once on both replicas', async () => {
    const [a, b] = gateways;
    const user = await registerAndLogin(a);
    await pollUntil(async () => (await b.rest.post('/api/auth/login').send({ email: user.email, password: user.password })).status, (status) => status === 200, { timeoutMs: 5000, intervalMs: 200 });
    const key = await createApiKey(a, user.jwt);
    await pollUntil(async () => (await rawRpc(b, toolsList, key.api_key)).status, (status) => status === 200, { timeoutMs: 5000, intervalMs: 200 });
    for (let id = 1; id <= 5; id++) {
      await rawRpc(a, toolCall(id), key.api_key).expect(200);
      await rawRpc(b, toolCall(100 + id), key.api_key).expect(200);
    }
    const countQuery = `SELECT count() AS n FROM mcp_tool_usage_log WHERE api_key_id = '${key.key_id}'`;
    for (const replica of replicas) {
      expect(await pollUntil(() => count(replica, countQuery), (n) => n >= 10, { timeoutMs: 10_000, intervalMs: 100 })).toBe(10);
    }
    const distinct = `SELECT uniqExact(id) AS n FROM mcp_tool_usage_log WHERE api_key_id = '${key.key_id}'`;
    expect(await count(replicas[1], distinct)).toBe(10);
  });

  it('should refuse, through one gateway, a key revoked through the other within 2 s', async () => {
    const [a, b] = gateways;
    const user = await registerAndLogin(a);
    const key = await createApiKey(a, user.jwt);
    await pollUntil(async () => (await rawRpc(b, toolsList, key.api_key)).status, (status) => status === 200, { timeoutMs: 5000, intervalMs: 200 });
    const revokedAt = Date.now();
    await a.rest.post('/api/mcp-keys/revoke').set('Authorization', `Bearer ${user.jwt}`).send({ key_id: key.key_id }).expect(200);
    await pollUntil(async () => (await rawRpc(b, toolsList, key.api_key)).status, (status) => status === 401, { timeoutMs: 10_000, intervalMs: 50 });
    expect(Date.now() - revokedAt).toBeLessThanOrEqual(2000);
  });
});
