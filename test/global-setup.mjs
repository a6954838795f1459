// Builds the app (and its console) the e2e tests run, and gives every test a real ClickHouse: CLICKHOUSE_URL when
// set, else a private server on free ports that global teardown stops.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startLocalClickHouse } from '../scripts/lib/local-clickhouse.mjs';

export default async function globalSetup() {
  const root = resolve(import.meta.dirname, '..');
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  execFileSync(process.execPath, [join(root, 'scripts/build-console.mjs')], { stdio: 'inherit' });
  if (process.env.CLICKHOUSE_URL) return;
  const dir = mkdtempSync(join(tmpdir(), 'stock-mcp-test-clickhouse-'));
  const server = await startLocalClickHouse({ dir });
  // Workers are forked after this, so they inherit the URL; teardown reads the handle.
  process.env.CLICKHOUSE_URL = server.url;
  globalThis.__privateClickHouse = { server, dir };
}
