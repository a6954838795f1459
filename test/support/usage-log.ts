import { sql, str } from '../../src/clickhouse/sql.js';
import { queryRows, rawClient } from './clickhouse.js';
import type { TestApp } from './test-app.js';

/** Rows of mcp_tool_usage_log for this key, as a user would count them with clickhouse-client. */
export async function countForKey(app: TestApp, keyId: string): Promise<number> {
  const client = rawClient(app.database, app.clickhouseUrl);
  try {
    const [row] = await queryRows<{ n: string }>(client, sql`SELECT count() AS n FROM mcp_tool_usage_log WHERE api_key_id = ${str(keyId)}`.text);
    return Number(row.n);
  } finally {
    await client.close();
  }
}

/** The key's row count once it reaches `expected` (usage rows are shipped in the background), or when the wait ends. */
export async function waitForCount(app: TestApp, keyId: string, expected: number, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let count = await countForKey(app, keyId);
  while (count < expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    count = await countForKey(app, keyId);
  }
  return count;
}
