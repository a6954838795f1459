import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeStablePort, hasClickHouseServer, type LocalClickHouse, startLocalClickHouse } from '../scripts/lib/local-clickhouse.mjs';
import { hasHaproxy, startHaproxy } from '../scripts/lib/local-haproxy.mjs';
import { hasZooKeeper, startZooKeeper } from '../scripts/lib/local-zookeeper.mjs';
import { pollUntil } from '../scripts/lib/poll.mjs';
import { queryRows, rawClient, uniqueDatabaseName } from './support/clickhouse.js';
import { createApiKey, rawRpc } from './support/mcp.js';
import { describeNeeding } from './support/required-tools.js';
import { type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';

const CLUSTER = 'stock_cluster';
/** SDK-less clients calling through HAProxy at once in the failover test. */
const CLIENTS = 4;
const describeWithCluster = describeNeeding(
  { zookeeper: hasZooKeeper(), haproxy: hasHaproxy(), 'clickhouse-server': hasClickHouseServer() },
  "scripts/ensure-cluster-tools.sh and ensure-clickhouse.sh install Debian's packages",
);

const toolsList = { jsonrpc: '2.0', id: 1, method: 'tools/list' };

/** A count() a query answers on one replica. */
async function count(replica: LocalClickHouse, database: string, query: string): Promise<number> {
  const client = rawClient(database, replica.url);
  try {
    return Number((await queryRows<{ n: string }>(client, query))[0].n);
  } finally {
    await client.close();
  }
}
type ReplicaOptions = Parameters<typeof startLocalClickHouse>[0];

/**
 * ZooKeeper and two replicas of CLUSTER as private processes under `dir`, each replica with the
 * options it was started with (fixed ports and data), to start it again after a kill.
 */
/**
 * Budget for starting ZooKeeper (a JVM), two ClickHouse servers and the gateways on them. About
 * 30 s on a quiet 2-core machine; while the other jest worker runs a suite that stops and starts
 * its own ClickHouse (mcp-usage, app), the same start was measured past 120 s. It bounds a hang,
 * not the speed.
 */
const CLUSTER_START_MS = 300_000;
/**
 * A gateway's start on the cluster: its schema is created ON CLUSTER, each statement a task in
 * ZooKeeper's queue that both replicas run, one after another. With one core taken by another
 * process it was measured past the 60 s other suites allow a start.
 */
const GATEWAY_START = { keepDatabase: true, timeoutMs: 180_000 };

async function startReplicatedClickHouse(dir: string, replicas: LocalClickHouse[], replicaOptions: ReplicaOptions[]) {
  const zookeeper = await startZooKeeper({ dir: join(dir, 'zookeeper') });
  const tcpPorts = [await freeStablePort(), await freeStablePort()];
  for (const [index, tcpPort] of tcpPorts.entries()) {
    const cluster = { name: CLUSTER, zookeeperPort: zookeeper.port, replica: `r${index + 1}`, interserverPort: await freeStablePort(), replicas: tcpPorts };
    replicaOptions.push({ dir: join(dir, `clickhouse-${index + 1}`), httpPort: await freeStablePort(), tcpPort, cluster });
    replicas.push(await startLocalClickHouse(replicaOptions[index]));
  }
  return zookeeper;
}
const toolCall = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'search_stocks', arguments: { query: '600', limit: 2 } } });

describeWithCluster('Cluster mode: two gateways on two replicas of a replicated ClickHouse (e2e)', () => {
  let dir: string;
  let zookeeper: Awaited<ReturnType<typeof startZooKeeper>>;
  const replicas: LocalClickHouse[] = [];
  let gateways: TestApp[] = [];
  const database = uniqueDatabaseName('cluster');

  // The polls below ask with keys that have not reached a replica yet: not a stranger's guessing.
  const env = (clickhouseUrl: string) => ({
    CLICKHOUSE_URL: clickhouseUrl,
    CLICKHOUSE_DATABASE: database,
    CLICKHOUSE_CLUSTER: CLUSTER,
    DEMO_DATA: 'true',
    USAGE_FLUSH_INTERVAL_MS: '50',
    MCP_AUTH_FAILURE_LIMIT: '1000',
    JWT_SECRET: 'cluster-secret-long-enough-0123456789abcdef',
    // A loaded CI machine may replicate slower than the 200 ms default.
    CLICKHOUSE_REPLICATION_GRACE_MS: '1000',
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stock-mcp-cluster-'));
    zookeeper = await startReplicatedClickHouse(dir, replicas, []);
    // Both gateways start at once, each on its own replica: the schema is created ON CLUSTER once.
    gateways = await Promise.all(replicas.map((replica) => startTestApp(env(replica.url), GATEWAY_START)));
  }, CLUSTER_START_MS);

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

  it('should let a user registered on one gateway use a key from the other at once, and record every call once on both replicas', async () => {
    const [a, b] = gateways;
    const user = await registerAndLogin(a);
    // At once, on the other replica: a lookup that finds nothing looks again after the replication grace.
    await b.rest.post('/api/auth/login').send({ email: user.email, password: user.password }).expect(200);
    const key = await createApiKey(a, user.jwt);
    await rawRpc(b, toolsList, key.api_key).expect(200);
    for (let id = 1; id <= 5; id++) {
      await rawRpc(a, toolCall(id), key.api_key).expect(200);
      await rawRpc(b, toolCall(100 + id), key.api_key).expect(200);
    }
    const countQuery = `SELECT count() AS n FROM mcp_tool_usage_log WHERE api_key_id = '${key.key_id}'`;
    for (const replica of replicas) {
      expect(await pollUntil(() => count(replica, database, countQuery), (n) => n >= 10, { timeoutMs: 10_000, intervalMs: 100 })).toBe(10);
    }
    const distinct = `SELECT uniqExact(id) AS n FROM mcp_tool_usage_log WHERE api_key_id = '${key.key_id}'`;
    expect(await count(replicas[1], database, distinct)).toBe(10);
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

  // Last: it kills the first replica (the gateway on it alone fails from then on).
  it('should keep serving through a CLICKHOUSE_URL list of both replicas while the first is killed', async () => {
    const listed = await startTestApp({ ...env(`${replicas[0].url},${replicas[1].url}`), DEMO_DATA: 'false' }, GATEWAY_START);
    try {
      const user = await registerAndLogin(listed);
      const key = await createApiKey(listed, user.jwt);
      await rawRpc(listed, toolCall(1), key.api_key).expect(200);
      // The first call's record is inserted on the first replica (no insert_quorum): until the second
      // has fetched that part, killing the first would leave it there, late rather than lost.
      const firstCall = `SELECT count() AS n FROM mcp_tool_usage_log WHERE api_key_id = '${key.key_id}'`;
      expect(await pollUntil(() => count(replicas[1], database, firstCall), (n) => n >= 1, { timeoutMs: 10_000, intervalMs: 100 })).toBe(1);
      expect(await gateways[0].signal('SIGTERM')).toBe(0);
      expect(await replicaKilled(replicas[0])).toBe('SIGKILL');

      for (let id = 2; id <= 6; id++) await rawRpc(listed, toolCall(id), key.api_key).expect(200);
      // Reads and writes of the REST side too: a login, a new key and its first call.
      await listed.rest.post('/api/auth/login').send({ email: user.email, password: user.password }).expect(200);
      const second = await createApiKey(listed, user.jwt);
      await rawRpc(listed, toolCall(7), second.api_key).expect(200);
      await listed.rest.get('/health').expect(200);

      const calls = `SELECT count() AS n FROM mcp_tool_usage_log WHERE api_key_id IN ('${key.key_id}', '${second.key_id}')`;
      expect(await pollUntil(() => count(replicas[1], database, calls), (n) => n >= 7, { timeoutMs: 10_000, intervalMs: 100 })).toBe(7);
      // It moved once and stayed on the second replica.
      expect(listed.output().split('\n').filter((line) => line.includes('ClickHouse replica failed; using the next one'))).toHaveLength(1);
    } finally {
      await listed.stop();
    }
  });
});

/** Kills a replica with SIGKILL and resolves with the signal once it is gone. */
function replicaKilled(replica: LocalClickHouse): Promise<string | null> {
  return new Promise((resolve) => {
    replica.child.once('exit', (_code, signal) => resolve(signal));
    replica.child.kill('SIGKILL');
  });
}

describeWithCluster('Cluster failover: HAProxy, two gateways, two replicas, each killed and restarted (e2e)', () => {
  let dir: string;
  let zookeeper: Awaited<ReturnType<typeof startZooKeeper>>;
  const replicas: LocalClickHouse[] = [];
  const replicaOptions: ReplicaOptions[] = [];
  const gateways: TestApp[] = [];
  const gatewayEnvs: Record<string, string>[] = [];
  let proxy: Awaited<ReturnType<typeof startHaproxy>>;
  const database = uniqueDatabaseName('failover');
  const figures: Record<string, number> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stock-mcp-failover-'));
    zookeeper = await startReplicatedClickHouse(dir, replicas, replicaOptions);
    const gatewayPorts: { restPort: number; mcpPort: number }[] = [];
    for (let index = 0; index < 2; index++) gatewayPorts.push({ restPort: await freeStablePort(), mcpPort: await freeStablePort() });
    // One HAProxy on docker/cluster/haproxy.cfg: in front of the replicas for the gateways (checking
    // GET /replicas_status), and in front of the gateways for the clients (checking GET /health).
    proxy = await startHaproxy({ dir: join(dir, 'haproxy'), gateways: gatewayPorts, replicas });
    for (const [index, { restPort, mcpPort }] of gatewayPorts.entries()) {
      gatewayEnvs.push({
        CLICKHOUSE_URL: `http://127.0.0.1:${proxy.ports.clickhouse}`,
        CLICKHOUSE_DATABASE: database,
        CLICKHOUSE_CLUSTER: CLUSTER,
        HTTP_PORT: String(restPort),
        MCP_PORT: String(mcpPort),
        USAGE_SPOOL_DIR: join(dir, `spool-${index + 1}`),
        USAGE_FLUSH_INTERVAL_MS: '50',
        USAGE_RETRY_MAX_DELAY_MS: '500',
        MCP_AUTH_FAILURE_LIMIT: '100000',
        // As docker/cluster/compose.yml: the client's address comes from HAProxy's X-Forwarded-For.
        TRUST_PROXY: 'loopback',
        DEMO_DATA: index === 0 ? 'true' : 'false',
        JWT_SECRET: 'failover-secret-long-enough-0123456789abcdef',
      });
      gateways.push(await startTestApp(gatewayEnvs[index], GATEWAY_START));
    }
  }, CLUSTER_START_MS);

  afterAll(async () => {
    console.log(`cluster failover figures: ${JSON.stringify(figures)}`);
    await proxy?.stop();
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await Promise.all(replicas.map((replica) => replica.stop()));
    await zookeeper?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('should store every acknowledged call exactly once while a gateway and a replica are killed and restarted', async () => {
    const mcpUrl = `http://127.0.0.1:${proxy.ports.mcp}/messages`;
    const restUrl = `http://127.0.0.1:${proxy.ports.rest}`;
    const email = `failover-${Date.now()}@example.com`;
    const password = 'correct horse battery';
    const post = (path: string, body: unknown, jwt?: string) =>
      fetch(`${restUrl}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(jwt ? { Authorization: `Bearer ${jwt}` } : {}) }, body: JSON.stringify(body) });
    expect((await post('/api/auth/register', { email, password })).status).toBe(201);
    // The proxy may send the login to the other gateway, reading a replica the new account has not reached yet (~40 ms).
    const login = await pollUntil(() => post('/api/auth/login', { email, password }), (response) => response.status === 200, { timeoutMs: 5000, intervalMs: 100 });
    const jwt = ((await login.json()) as { access_token: string }).access_token;
    const created = await post('/api/mcp-keys/create', {}, jwt);
    expect(created.status).toBe(200);
    const key = (await created.json()) as { api_key: string; key_id: string };

    const outcome = { attempted: 0, acked: 0, retriedConnectionFailures: 0, toolErrors: 0, other: [] as string[] };
    let running = true;
    const call = (id: number) =>
      fetch(mcpUrl, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key.api_key}` }, body: JSON.stringify(toolCall(id)) });
    const client = async (clientId: number) => {
      for (let n = 0; running; n++) {
        const id = clientId * 1_000_000 + n;
        outcome.attempted++;
        let response: Response | undefined;
        for (let attempt = 0; attempt < 5 && !response; attempt++) {
          response = await call(id).catch(() => {
            outcome.retriedConnectionFailures++;
            return undefined;
          });
        }
        const body = response ? ((await response.json().catch(() => ({}))) as { result?: { isError?: boolean }; error?: { message: string } }) : {};
        if (response?.status === 200 && body.result) {
          outcome.acked++;
          if (body.result.isError) outcome.toolErrors++;
        } else {
          outcome.other.push(`${response?.status ?? 'no answer'} ${JSON.stringify(body).slice(0, 200)}`);
        }
      }
    };
    // The key must be known on both sides of the proxy before the storm: a gateway that looked it up
    // before its row reached the replica it read refuses it until the change feed says otherwise.
    for (const gateway of gateways) {
      expect(await pollUntil(async () => (await rawRpc(gateway, toolsList, key.api_key)).status, (status) => status === 200, { timeoutMs: 10_000, intervalMs: 200 })).toBe(200);
    }
    const clients = Array.from({ length: CLIENTS }, (_, index) => client(index + 1));
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    await pause(2000);
    expect(await gateways[0].signal('SIGKILL')).toBe('SIGKILL');
    await pause(2000);
    gateways[0] = await startTestApp(gatewayEnvs[0], GATEWAY_START);
    await pause(2000);
    replicas[0].child.kill('SIGKILL');
    await pause(3000);
    replicas[0] = await startLocalClickHouse(replicaOptions[0]);
    await pause(3000);
    running = false;
    await Promise.all(clients);

    // Everything spooled is shipped: both queues drain.
    for (const gateway of gateways) {
      await pollUntil(async () => (await gateway.rest.get('/health')).body?.details?.usage_writer?.queue_depth, (depth) => depth === 0, { timeoutMs: 60_000, intervalMs: 250 });
    }
    const recorded = `SELECT count() AS n FROM mcp_tool_usage_log WHERE api_key_id = '${key.key_id}'`;
    const distinct = `SELECT uniqExact(id) AS n FROM mcp_tool_usage_log WHERE api_key_id = '${key.key_id}'`;
    const { acked } = outcome;
    const counts = [];
    for (const replica of replicas) counts.push(await pollUntil(() => count(replica, database, recorded), (n) => n >= acked, { timeoutMs: 30_000, intervalMs: 250 }));
    const duplicates = counts[0] - (await count(replicas[0], database, distinct));
    const unacknowledged = counts[0] - acked;
    Object.assign(figures, {
      attempted: outcome.attempted,
      acked,
      recorded: counts[0],
      recordedOnReplica2: counts[1],
      duplicates,
      unacknowledged,
      retriedConnectionFailures: outcome.retriedConnectionFailures,
      toolErrors: outcome.toolErrors,
      otherErrors: outcome.other.length,
    });
    expect(outcome.other.slice(0, 20)).toEqual([]);
    expect(duplicates).toBe(0);
    expect(counts[1]).toBe(counts[0]);
    // Every acknowledged call is stored. A call the killed gateway had recorded but not answered yet
    // is stored too, and HAProxy sends it again to the other gateway: at most one per client in flight.
    expect(unacknowledged).toBeGreaterThanOrEqual(0);
    expect(unacknowledged).toBeLessThanOrEqual(CLIENTS);
    // History and stats agree on both gateways.
    for (const gateway of gateways) {
      const history = await gateway.rest.get(`/api/mcp-usage/history?api_key_id=${key.key_id}`).set('Authorization', `Bearer ${jwt}`).expect(200);
      const stats = await gateway.rest.get(`/api/mcp-usage/stats?api_key_id=${key.key_id}`).set('Authorization', `Bearer ${jwt}`).expect(200);
      expect([history.body.total, stats.body.total_calls]).toEqual([counts[0], counts[0]]);
    }

    // A revoke through one gateway: both refuse the key within 2 s.
    const revokedAt = Date.now();
    await gateways[1].rest.post('/api/mcp-keys/revoke').set('Authorization', `Bearer ${jwt}`).send({ key_id: key.key_id }).expect(200);
    let maxLag = 0;
    for (const gateway of gateways) {
      await pollUntil(async () => (await rawRpc(gateway, toolsList, key.api_key)).status, (status) => status === 401, { timeoutMs: 10_000, intervalMs: 50 });
      maxLag = Math.max(maxLag, Date.now() - revokedAt);
    }
    figures.maxRevokeLagMs = maxLag;
    expect(maxLag).toBeLessThanOrEqual(2000);
  }, 240_000);
});
