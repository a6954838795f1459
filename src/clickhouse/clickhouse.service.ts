import { type ClickHouseClient, type ClickHouseClientConfigOptions, ClickHouseLogLevel, type ClickHouseSettings, createClient } from '@clickhouse/client';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { classifyClickHouseError } from './clickhouse-errors.js';
import { type Sql, ident, sql } from './sql.js';

export interface QueryOptions {
  /** Abandons the request (the caller gave up, or shutdown's deadline passed). */
  signal?: AbortSignal;
}

/**
 * The project's only door to ClickHouse. Queries take Sql fragments (never plain strings) so
 * every value has gone through the binding helper. Every failure is classified on the way out
 * (clickhouse-errors.ts), so callers tell "try again" from "the schema is wrong" from a bug.
 * Reads run under per-query limits, so one heavy request cannot hold the server for everyone.
 */
@Injectable()
export class ClickHouseService implements OnApplicationShutdown {
  private readonly client: ClickHouseClient;
  private readonly connection: ClickHouseClientConfigOptions;
  private readonly readLimits: ClickHouseSettings;
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
    this.readLimits = {
      max_execution_time: config.clickhouse.queryTimeoutSeconds,
      max_memory_usage: String(config.clickhouse.queryMaxMemoryBytes),
    };
    this.client = createClient({ ...this.connection, database: this.database });
  }

  /** Creates the configured database, through a client not bound to it (it may not exist yet). */
  async ensureDatabase(): Promise<void> {
    const bootstrap = createClient(this.connection);
    try {
      await bootstrap.command({ query: sql`CREATE DATABASE IF NOT EXISTS ${ident(this.database)}`.text });
    } catch (error) {
      throw classifyClickHouseError(error);
    } finally {
      await bootstrap.close();
    }
  }

  async query<Row>(statement: Sql, options: QueryOptions = {}): Promise<Row[]> {
    try {
      const result = await this.client.query({ query: statement.text, format: 'JSONEachRow', clickhouse_settings: this.readLimits, abort_signal: options.signal });
      return await result.json<Row>();
    } catch (error) {
      throw classifyClickHouseError(error);
    }
  }

  async command(statement: Sql): Promise<void> {
    try {
      await this.client.command({ query: statement.text });
    } catch (error) {
      throw classifyClickHouseError(error);
    }
  }

  /** JSONEachRow insert: values travel as JSON data, never as SQL text. */
  async insert<Row extends Record<string, unknown>>(table: string, rows: readonly Row[], options: QueryOptions & { queryId?: string } = {}): Promise<void> {
    if (rows.length === 0) return;
    try {
      await this.client.insert({ table: ident(table).text, values: rows as Row[], format: 'JSONEachRow', abort_signal: options.signal, query_id: options.queryId });
    } catch (error) {
      throw classifyClickHouseError(error);
    }
  }

  async serverVersion(): Promise<string> {
    const [row] = await this.query<{ version: string }>(sql`SELECT version() AS version`);
    return row.version;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }
}
