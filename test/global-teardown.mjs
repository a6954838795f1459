import { rmSync } from 'node:fs';

/**
 * Stops the private ClickHouse, once: when both levels run, each level's teardown calls this. Killed:
 * its data is deleted next, and a SIGTERM'd 18.16 waits up to 8 s for recent HTTP connections first.
 */
export default async function globalTeardown() {
  const privateServer = globalThis.__privateClickHouse;
  if (!privateServer) return;
  globalThis.__privateClickHouse = undefined;
  await privateServer.server.stop('SIGKILL');
  rmSync(privateServer.dir, { recursive: true, force: true });
}
