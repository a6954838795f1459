// Starts a private HAProxy (Debian's `haproxy`) for the cluster failure test: round robin over the
// backends, health-checked fast, retrying requests whose connection failed (cluster-notes.md).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { freeStablePort } from './local-clickhouse.mjs';
import { stopChild } from './stop-child.mjs';

export function hasHaproxy() {
  return spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).error === undefined;
}

function listening(port) {
  return new Promise((resolveListening) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(() => resolveListening(true)));
    socket.on('error', () => resolveListening(false));
  });
}

/**
 * `proxies`: [{ name, check: 'GET /health', servers: [{ port, checkPort? }] }]. Returns the port
 * each proxy listens on, by name.
 */
export async function startHaproxy({ dir, proxies }) {
  const home = resolve(dir);
  mkdirSync(home, { recursive: true });
  const ports = {};
  const sections = [];
  for (const proxy of proxies) {
    ports[proxy.name] = await freeStablePort();
    const servers = proxy.servers.map((server, index) => `  server s${index + 1} 127.0.0.1:${server.port} check${server.checkPort ? ` port ${server.checkPort}` : ''}`);
    sections.push(
      [
        `frontend ${proxy.name}`,
        `  bind 127.0.0.1:${ports[proxy.name]}`,
        `  default_backend ${proxy.name}_servers`,
        `backend ${proxy.name}_servers`,
        '  balance roundrobin',
        `  option httpchk ${proxy.check}`,
        '  default-server inter 500 fall 2 rise 1',
        ...servers,
      ].join('\n'),
    );
  }
  const config = join(home, 'haproxy.cfg');
  writeFileSync(
    config,
    [
      'global',
      '  maxconn 4000',
      'defaults',
      '  mode http',
      '  timeout connect 1s',
      '  timeout client 60s',
      '  timeout server 60s',
      '  retries 3',
      '  option redispatch',
      '  retry-on conn-failure empty-response',
      ...sections,
      '',
    ].join('\n'),
  );
  const child = spawn('haproxy', ['-f', config, '-db'], { cwd: home, stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (const port of Object.values(ports)) {
    while (!(await listening(port))) {
      if (child.exitCode !== null) throw new Error(`haproxy exited with code ${child.exitCode}; see ${config}`);
      if (Date.now() > deadline) throw new Error(`haproxy did not listen on ${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const stop = () => stopChild(child);
  return { ports, child, stop };
}
