// Starts a private Redis (Debian's `redis-server`) for the shared-metering tests: loopback only,
// nothing saved to disk, gone when stopped.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { freeStablePort } from './local-clickhouse.mjs';
import { stopChild } from './stop-child.mjs';
import { waitUntilServing } from './wait-for-child.mjs';

export function hasRedisServer() {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error === undefined;
}

/** Whether a Redis answers PING on the port. */
function answersPing(port) {
  return new Promise((resolvePing) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('data', (data) => {
      resolvePing(data.toString().startsWith('+PONG'));
      socket.destroy();
    });
    socket.on('error', () => resolvePing(false));
    socket.on('close', () => resolvePing(false));
  });
}

/** `port`: a fixed port, to start it again on the same one after a stop. */
export async function startRedis({ dir, port } = {}) {
  const home = resolve(dir);
  mkdirSync(home, { recursive: true });
  const chosen = port ?? (await freeStablePort());
  const child = spawn('redis-server', ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', home], { cwd: home, stdio: 'ignore' });
  await waitUntilServing(child, () => answersPing(chosen), { name: `redis-server on port ${chosen}`, timeoutMs: 10_000 });
  return { port: chosen, url: `redis://127.0.0.1:${chosen}/0`, child, stop: () => stopChild(child) };
}
