import { type ClickHouseClient, type ClickHouseClientConfigOptions, ClickHouseLogLevel, type ClickHouseSettings, createClient } from '@clickhouse/client';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { classifyClickHouseError, isConnectionCut } from './clickhouse-errors.js';
import { type Sql, ident, sql } from './sql.js';

export interface QueryOptions {
  /** Abandons the request (the caller gave up, or shutdown's deadline passed). */
  signal?: AbortSignal;
}

/**
 * How long start-up work (DDL, the key index backfill, the demo seed) may take per statement. It
 * runs once, before any request, and a slow server must not fail a start that a request timeout
 * tuned for interactive reads (CLICKHOUSE_REQUEST_TIMEOUT_MS) would cut short.
 */
const START_UP_WORK_TIMEOUT_MS = 300_000;

/**
 * The project's only door to ClickHouse. Queries take Sql fragments (never plain strings) so
 * every value has gone through the binding helper. Every failure is classified on the way out
 * (clickhouse-errors.ts), so callers tell "try again" from "the schema is wrong" from a bug.
 * Reads run under per-query limits, so one heavy request cannot hold the server for everyone.
 */
@Injectable()
export class ClickHouseService implements OnApplicationShutdown {
  private readonly client: ClickHouseClient;
  private readonly startUpClient: ClickHouseClient;
  private readonly connection: ClickHouseClientConfigOptions;
  private readonly readLimits: ClickHouseSettings;
  readonly database: string;
  /** Set in cluster mode (CLICKHOUSE_CLUSTER): DDL runs ON CLUSTER, created tables are Replicated. */
  readonly cluster: string | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.database = config.clickhouse.database;
    this.cluster = config.clickhouse.cluster;
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
    this.startUpClient = createClient({
      ...this.connection,
      database: this.database,
      request_timeout: Math.max(config.clickhouse.requestTimeoutMs, START_UP_WORK_TIMEOUT_MS),
    });
  }

  /** `ON CLUSTER name` for DDL in cluster mode, else nothing. */
  onCluster(): Sql {
    return this.cluster ? sql`ON CLUSTER ${ident(this.cluster)}` : sql``;
  }

  /**
   * `database.table`: DDL run ON CLUSTER executes on every replica, where the connection's
   * default database does not reach, so it names the database.
   */
  qualified(table: string): Sql {
    return sql`${ident(this.database)}.${ident(table)}`;
  }

  /** Creates the configured database, through a client not bound to it (it may not exist yet). */
  async ensureDatabase(): Promise<void> {
    const bootstrap = createClient(this.connection);
    try {
      await bootstrap.command({ query: sql`CREATE DATABASE IF NOT EXISTS ${ident(this.database)} ${this.onCluster()}`.text });
    } catch (error) {
      throw classifyClickHouseError(error);
    } finally {
      await bootstrap.close();
    }
  }

  /** A read; one whose connection was cut is asked once more (reads change nothing; a proxy may send it to another replica). */
  async query<Row>(statement: Sql, options: QueryOptions = {}): Promise<Row[]> {
    try {
      return await this.read<Row>(statement, options);
    } catch (error) {
      if (!isConnectionCut(error) || options.signal?.aborted) throw error;
      return this.read<Row>(statement, options);
    }
  }

  private async read<Row>(statement: Sql, options: QueryOptions): Promise<Row[]> {
    try {
      const result = await this.client.query({ query: statement.text, format: 'JSONEachRow', clickhouse_settings: this.readLimits, abort_signal: options.signal });
      return await result.json<Row>();
    } catch (error) {
      throw classifyClickHouseError(error);
    }
  }

  /** DDL and backfills, run at start-up (START_UP_WORK_TIMEOUT_MS). */
  async command(statement: Sql): Promise<void> {
    try {
      await this.startUpClient.command({ query: statement.text });
    } catch (error) {
      throw classifyClickHouseError(error);
    }
  }

  /** JSONEachRow insert: values travel as JSON data, never as SQL text. */
  async insert<Row extends Record<string, unknown>>(
    table: string,
    rows: readonly Row[],
    options: QueryOptions & { queryId?: string; startUpWork?: boolean } = {},
  ): Promise<void> {
    if (rows.length === 0) return;
    try {
      await (options.startUpWork ? this.startUpClient : this.client).insert({ table: ident(table).text, values: rows, format: 'JSONEachRow', abort_signal: options.signal, query_id: options.queryId });
    } catch (error) {
      throw classifyClickHouseError(error);
    }
  }

  async serverVersion(): Promise<string> {
    const [row] = await this.query<{ version: string }>(sql`SELECT version() AS version`);
    return row.version;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.client.close(), this.startUpClient.close()]);
  }
}
