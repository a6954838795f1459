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
export function rawClient(database?: string, url = clickHouseUrl()): ClickHouseClient {
  return createClient({
    url,
    username: process.env.CLICKHOUSE_USER ?? 'default',
    password: process.env.CLICKHOUSE_PASSWORD ?? '',
    ...(database ? { database } : {}),
  });
}

export async function queryRows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const result = await client.query({ query, format: 'JSONEachRow' });
  return result.json<T>();
}

export async function dropDatabase(name: string, url = clickHouseUrl()): Promise<void> {
  const client = rawClient(undefined, url);
  try {
    await client.command({ query: `DROP DATABASE IF EXISTS \`${name}\`` });
  } finally {
    await client.close();
  }
}
