import { rmSync } from 'node:fs';
import { dropMarketTemplate } from './market-template.mjs';

/**
 * Stops the private ClickHouse, once: when both levels run, each level's teardown calls this. Killed:
 * its data is deleted next, and a SIGTERM'd 18.16 waits up to 8 s for recent HTTP connections first.
 * On a ClickHouse the user gave, only the run's demo market template is dropped.
 */
export default async function globalTeardown() {
  const privateServer = globalThis.__privateClickHouse;
  if (!privateServer) return dropMarketTemplate(process.env.CLICKHOUSE_URL?.split(',').at(-1));
  globalThis.__privateClickHouse = undefined;
  await privateServer.server.stop('SIGKILL');
  rmSync(privateServer.dir, { recursive: true, force: true });
}
