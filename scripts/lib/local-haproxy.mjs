// Starts a private HAProxy (Debian's `haproxy`) on the checked-in docker/cluster/haproxy.cfg, the
// configuration a deployment uses, with this machine's addresses in its environment variables.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeStablePort } from './local-clickhouse.mjs';
import { stopChild } from './stop-child.mjs';
import { waitUntilServing } from './wait-for-child.mjs';

export const HAPROXY_CONFIG = fileURLToPath(new URL('../../docker/cluster/haproxy.cfg', import.meta.url));

export function hasHaproxy() {
  return spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).error === undefined;
}

function listening(port) {
  return new Promise((resolveListening) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(() => resolveListening(true)));
    socket.on('error', () => resolveListening(false));
  });
}

/** The configuration's variables for two gateways and two replicas on this machine's loopback. */
function environmentOf(ports, gateways, replicas) {
  const env = { REST_BIND: `127.0.0.1:${ports.rest}`, MCP_BIND: `127.0.0.1:${ports.mcp}`, CLICKHOUSE_BIND: `127.0.0.1:${ports.clickhouse}` };
  gateways.forEach((gateway, index) => {
    env[`GATEWAY${index + 1}_HOST`] = '127.0.0.1';
    env[`GATEWAY${index + 1}_REST_PORT`] = String(gateway.restPort);
    env[`GATEWAY${index + 1}_MCP_PORT`] = String(gateway.mcpPort);
  });
  replicas.forEach((replica, index) => {
    env[`REPLICA${index + 1}_HOST`] = '127.0.0.1';
    env[`REPLICA${index + 1}_HTTP_PORT`] = String(replica.httpPort);
  });
  return env;
}

/**
 * `gateways`: two { restPort, mcpPort }; `replicas`: two { httpPort }. The servers need not be up
 * yet: HAProxy sends them traffic once their health checks pass. Returns the ports it listens on.
 */
export async function startHaproxy({ dir, gateways, replicas }) {
  if (gateways.length !== 2 || replicas.length !== 2) throw new Error('docker/cluster/haproxy.cfg names two gateways and two replicas');
  const home = resolve(dir);
  mkdirSync(home, { recursive: true });
  const ports = { rest: await freeStablePort(), mcp: await freeStablePort(), clickhouse: await freeStablePort() };
  const env = { ...process.env, ...environmentOf(ports, gateways, replicas) };
  const child = spawn('haproxy', ['-f', HAPROXY_CONFIG, '-db'], { cwd: home, env, stdio: 'ignore' });
  const allListening = async () => (await Promise.all(Object.values(ports).map(listening))).every(Boolean);
  await waitUntilServing(child, allListening, { name: `haproxy on ${HAPROXY_CONFIG}`, timeoutMs: 10_000 });
  const stop = () => stopChild(child);
  return { ports, child, stop };
}
