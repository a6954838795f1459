import { sql, str } from '../../src/clickhouse/sql.js';
import { pollUntil } from '../../scripts/lib/poll.mjs';
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
export function waitForCount(app: TestApp, keyId: string, expected: number, timeoutMs = 20_000): Promise<number> {
  return pollUntil(() => countForKey(app, keyId), (count) => count >= expected, { timeoutMs, intervalMs: 100 });
}
