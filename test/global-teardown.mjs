import { rmSync } from 'node:fs';

export default async function globalTeardown() {
  const privateServer = globalThis.__privateClickHouse;
  if (!privateServer) return;
  await privateServer.server.stop();
  rmSync(privateServer.dir, { recursive: true, force: true });
}
