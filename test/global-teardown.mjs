import { rmSync } from 'node:fs';

/** Stops the private ClickHouse, once: when both levels run, each level's teardown calls this. */
export default async function globalTeardown() {
  const privateServer = globalThis.__privateClickHouse;
  if (!privateServer) return;
  globalThis.__privateClickHouse = undefined;
  await privateServer.server.stop();
  rmSync(privateServer.dir, { recursive: true, force: true });
}
