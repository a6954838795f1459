import { randomUUID } from 'node:crypto';
import { type ClickHouseClient, createClient } from '@clickhouse/client';

export function clickHouseUrl(): string {
  const url = process.env.CLICKHOUSE_URL;
  if (!url) throw new Error('CLICKHOUSE_URL is not set: run the tests through `npm test`, whose global setup provides one');
  return url;
}

/** A database name no other test file or run uses. */
export function uniqueDatabaseName(prefix = 'test'): string {
  return `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
}

/** A raw client for assertions that look at tables directly, as a user would with clickhouse-client. */
export function rawClient(database?: string, url = clickHouseUrl(), requestTimeoutMs?: number): ClickHouseClient {
  return createClient({
    url,
    // Progress headers keep a long request's connection from looking idle (the client asks for them past 60 s).
    ...(requestTimeoutMs ? { request_timeout: requestTimeoutMs, clickhouse_settings: { send_progress_in_http_headers: 1, http_headers_progress_interval_ms: '10000' } } : {}),
    username: process.env.CLICKHOUSE_USER ?? 'default',
    password: process.env.CLICKHOUSE_PASSWORD ?? '',
    ...(database ? { database } : {}),
  });
}

export async function queryRows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const result = await client.query({ query, format: 'JSONEachRow' });
  return result.json<T>();
}

/** Dropping waits for each table's background merges and mutations to stop: on a loaded machine that can pass the client's default 30 s. */
const DROP_TIMEOUT_MS = 180_000;

export async function dropDatabase(name: string, url = clickHouseUrl()): Promise<void> {
  const client = rawClient(undefined, url, DROP_TIMEOUT_MS);
  try {
    await client.command({ query: `DROP DATABASE IF EXISTS \`${name}\`` });
  } finally {
    await client.close();
  }
}
