import { type ClickHouseClient, type ClickHouseClientConfigOptions, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { type Sql, ident, sql } from './sql.js';

/**
 * The project's only door to ClickHouse. Queries take Sql fragments (never plain strings) so
 * every value has gone through the binding helper.
 */
@Injectable()
export class ClickHouseService implements OnApplicationShutdown {
  private readonly client: ClickHouseClient;
  private readonly connection: ClickHouseClientConfigOptions;
  readonly database: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.database = config.clickhouse.database;
    this.connection = {
      url: config.clickhouse.url,
      username: config.clickhouse.username,
      password: config.clickhouse.password,
      request_timeout: config.clickhouse.requestTimeoutMs,
      // Errors surface as exceptions to the caller, who logs them with context.
      log: { level: ClickHouseLogLevel.OFF },
    };
    this.client = createClient({ ...this.connection, database: this.database });
  }

  /** Creates the configured database, through a client not bound to it (it may not exist yet). */
  async ensureDatabase(): Promise<void> {
    const bootstrap = createClient(this.connection);
    try {
      await bootstrap.command({ query: sql`CREATE DATABASE IF NOT EXISTS ${ident(this.database)}`.text });
    } finally {
      await bootstrap.close();
    }
  }

  async query<Row>(statement: Sql): Promise<Row[]> {
    const result = await this.client.query({ query: statement.text, format: 'JSONEachRow' });
    return result.json<Row>();
  }

  async command(statement: Sql): Promise<void> {
    await this.client.command({ query: statement.text });
  }

  /** JSONEachRow insert: values travel as JSON data, never as SQL text. `signal` abandons it. */
  async insert<Row extends Record<string, unknown>>(table: string, rows: readonly Row[], signal?: AbortSignal): Promise<void> {
    if (rows.length === 0) return;
    await this.client.insert({ table: ident(table).text, values: rows as Row[], format: 'JSONEachRow', abort_signal: signal });
  }

  async ping(): Promise<boolean> {
    const result = await this.client.ping();
    return result.success;
  }

  async serverVersion(): Promise<string> {
    const [row] = await this.query<{ version: string }>(sql`SELECT version() AS version`);
    return row.version;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }
}
