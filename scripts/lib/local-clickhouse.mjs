// Starts a private clickhouse-server (own config, data dir and ports) for the launcher and the tests.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { stopChild } from './stop-child.mjs';

const CANDIDATES = ['clickhouse-server', '/usr/sbin/clickhouse-server', '/usr/bin/clickhouse-server', 'clickhouse'];

export const INSTALL_HINT = [
  'No ClickHouse server binary was found. Either:',
  '  - install it:          sudo apt-get install -y clickhouse-server   (Debian/Ubuntu)',
  '  - or run one yourself: docker compose -f docker/docker-compose.yml up -d clickhouse',
  '                         and set CLICKHOUSE_URL=http://127.0.0.1:8123',
].join('\n');

/** The command that runs a server: `clickhouse-server` or the single `clickhouse` binary's `server` mode. */
export function findClickHouseServer() {
  for (const candidate of CANDIDATES) {
    const probe = spawnSync(candidate, candidate.endsWith('clickhouse') ? ['server', '--help'] : ['--help'], { stdio: 'ignore' });
    if (probe.error === undefined) return candidate.endsWith('clickhouse') ? [candidate, 'server'] : [candidate];
  }
  return undefined;
}

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** Whether nothing listens on the port now. */
function isFree(port) {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once('error', () => resolveFree(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
  });
}

/**
 * A free port below the kernel's ephemeral range (32768 and up on Linux), for a server that is
 * stopped and started again on the same port (the outage tests): an ephemeral port it released can
 * be handed at once to any process's listener or outgoing connection, which then holds it.
 */
export async function freeStablePort() {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await isFree(port)) return port;
  }
  return freePort();
}

/**
 * The XML that makes the server one replica of a one-shard cluster (cluster-notes.md): ZooKeeper,
 * the replicas, this one's macros, the interserver port and the distributed DDL queue.
 */
function clusterXml({ name, zookeeperPort, replica, interserverPort, replicas }) {
  const hosts = replicas.map((tcpPort) => `<replica><host>127.0.0.1</host><port>${tcpPort}</port></replica>`).join('');
  return `<zookeeper><node><host>127.0.0.1</host><port>${zookeeperPort}</port></node><session_timeout_ms>5000</session_timeout_ms></zookeeper>
  <remote_servers><${name}><shard><internal_replication>true</internal_replication>${hosts}</shard></${name}></remote_servers>
  <macros><shard>1</shard><replica>${replica}</replica></macros>
  <interserver_http_port>${interserverPort}</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>`;
}

function writeConfig(dir, httpPort, tcpPort, timezone, cluster) {
  const data = join(dir, 'data');
  for (const sub of ['', 'tmp', 'user_files', 'format_schemas', 'log']) mkdirSync(join(data, sub), { recursive: true });
  writeFileSync(
    join(dir, 'users.xml'),
    `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`,
  );
  const configPath = join(dir, 'config.xml');
  writeFileSync(
    configPath,
    `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${data}/log/server.log</log><errorlog>${data}/log/error.log</errorlog><console>0</console></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${data}/</path>
  <tmp_path>${data}/tmp/</tmp_path>
  <user_files_path>${data}/user_files/</user_files_path>
  <format_schema_path>${data}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>200</max_concurrent_queries>
  ${timezone ? `<timezone>${timezone}</timezone>` : ''}
  ${cluster ? clusterXml(cluster) : ''}
</yandex>
`,
  );
  return configPath;
}

/**
 * Ready once the server on `url` answers and keeps its metadata under `home`: a server that lost
 * the race for its port exits, and another process's server answering there must not pass for it.
 */
async function waitUntilReady(url, home, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  const query = encodeURIComponent("SELECT metadata_path FROM system.tables WHERE database = 'system' LIMIT 1");
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`clickhouse-server exited with code ${child.exitCode}`);
    let metadataPath;
    try {
      const response = await fetch(`${url}/?query=${query}`);
      if (response.ok) metadataPath = await response.text();
    } catch {
      // not listening yet
    }
    if (metadataPath?.startsWith(join(home, 'data'))) return;
    if (metadataPath !== undefined) throw new Error(`another ClickHouse server (${metadataPath.trim()}) answers on ${url}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`clickhouse-server did not answer on ${url} within ${timeoutMs} ms`);
}

/**
 * Starts a private clickhouse-server with its data under `dir` (kept between runs) on the given or
 * free ports; returns { url, httpPort, tcpPort, pid, child, stop() }. A start is tried up to three
 * times: the kernel can take a moment to release the ports of a server just stopped, and a free
 * port can be taken by another process before this server binds it.
 */
export async function startLocalClickHouse(options = {}) {
  const attempts = 3;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** `timezone`: the server's time zone (DateTime columns without one use it), e.g. Asia/Shanghai as the original service deploys it. */
/**
 * `cluster`: { name, zookeeperPort, replica, interserverPort, replicas: [tcp ports] } makes it one
 * replica of a one-shard cluster (tcpPort must then be given: the other replicas name it).
 */
async function startOnce({ dir, httpPort, tcpPort, timezone, cluster, timeoutMs = 30_000 } = {}) {
  const command = findClickHouseServer();
  if (!command) throw new Error(INSTALL_HINT);
  const home = resolve(dir);
  mkdirSync(home, { recursive: true });
  const http = httpPort ?? (await freeStablePort());
  const tcp = tcpPort ?? (await freeStablePort());
  const configPath = writeConfig(home, http, tcp, timezone, cluster);
  const child = spawn(command[0], [...command.slice(1), `--config-file=${configPath}`], {
    cwd: home,
    stdio: 'ignore',
    detached: false,
  });
  const url = `http://127.0.0.1:${http}`;
  await waitUntilReady(url, home, child, timeoutMs).catch((error) => {
    child.kill('SIGKILL');
    throw new Error(`${error.message}; see ${join(home, 'data', 'log', 'error.log')}`);
  });
  const stop = (signal = 'SIGTERM') => stopChild(child, signal);
  return { url, httpPort: http, tcpPort: tcp, pid: child.pid, child, stop };
}

export function hasClickHouseServer() {
  return findClickHouseServer() !== undefined;
}

