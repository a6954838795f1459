// Starts a private ZooKeeper (Debian's `zookeeper` package, run with `java` directly: its
// zkServer.sh reads /etc/zookeeper/conf) for the cluster test. See ../shared/cluster-notes.md.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { freeStablePort } from './local-clickhouse.mjs';
import { stopChild } from './stop-child.mjs';
import { waitUntilServing } from './wait-for-child.mjs';

const JAR = '/usr/share/java/zookeeper.jar';

export function hasZooKeeper() {
  return existsSync(JAR);
}

/** The answer to a four-letter command, or '' when nothing answers. */
function fourLetters(port, command) {
  return new Promise((resolveAnswer) => {
    let answer = '';
    const socket = connect(port, '127.0.0.1', () => socket.end(command));
    socket.setEncoding('utf8').on('data', (chunk) => (answer += chunk));
    socket.on('close', () => resolveAnswer(answer));
    socket.on('error', () => resolveAnswer(''));
  });
}

/**
 * Ready when `srvr` says `Mode: standalone`: `ruok` answers too early, and a ClickHouse 18.16
 * that sends ON CLUSTER DDL before ZooKeeper really serves can crash.
 */
export async function startZooKeeper({ dir, timeoutMs = 30_000 }) {
  const home = resolve(dir);
  mkdirSync(join(home, 'data'), { recursive: true });
  const port = await freeStablePort();
  const config = join(home, 'zoo.cfg');
  writeFileSync(config, [`tickTime=2000`, `dataDir=${join(home, 'data')}`, `clientPort=${port}`, 'clientPortAddress=127.0.0.1', 'admin.enableServer=false', '4lw.commands.whitelist=srvr,ruok,stat', 'forceSync=no', ''].join('\n'));
  const child = spawn('java', ['-Xmx256m', '-XX:+UseSerialGC', '-cp', JAR, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', config], { cwd: home, stdio: 'ignore' });
  const serving = async () => (await fourLetters(port, 'srvr')).includes('Mode: standalone');
  await waitUntilServing(child, serving, { name: `zookeeper on port ${port}`, timeoutMs, intervalMs: 100 }).catch((error) => {
    child.kill('SIGKILL');
    throw error;
  });
  const stop = () => stopChild(child);
  return { port, child, stop };
}
