// Gives every test a real ClickHouse: CLICKHOUSE_URL when set, else a private server on free ports that global
// teardown stops. The db level runs this alone; the e2e level builds the app first (global-setup.mjs).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalClickHouse } from '../scripts/lib/local-clickhouse.mjs';

export default async function clickHouseSetup() {
  // Set by the user, or by the other level's setup when both run: one server for the whole run.
  if (process.env.CLICKHOUSE_URL) return;
  const dir = mkdtempSync(join(tmpdir(), 'stock-mcp-test-clickhouse-'));
  const server = await startLocalClickHouse({ dir });
  // Workers are forked after this, so they inherit the URL; teardown reads the handle.
  process.env.CLICKHOUSE_URL = server.url;
  globalThis.__privateClickHouse = { server, dir };
}
