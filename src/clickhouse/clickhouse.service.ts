import { setTimeout as delay } from 'node:timers/promises';
import { type ClickHouseClient, type ClickHouseClientConfigOptions, ClickHouseLogLevel, type ClickHouseSettings, createClient } from '@clickhouse/client';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { classifyClickHouseError, isConnectionCut, isReplicaFailure, wasNotRun } from './clickhouse-errors.js';
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

/** How long a replica that failed is passed over while another answers. */
const REPLICA_REST_MS = 5_000;

/** One ClickHouse server of CLICKHOUSE_URL's list, with its clients. */
interface Replica {
  /** host:port, for logs (never the URL, which may carry credentials). */
  name: string;
  url: string;
  client: ClickHouseClient;
  startUpClient: ClickHouseClient;
  /** Passed over until then (unix ms) after it failed. */
  restingUntil: number;
}

/** When a failed attempt may be made again on another replica. */
type RetryRule = (error: unknown) => boolean;
/** Reads, DDL (IF NOT EXISTS) and database creation change nothing when run twice. */
const IDEMPOTENT: RetryRule = isReplicaFailure;
/** A write is sent elsewhere only when it surely did not run (the usage writer settles the rest itself). */
const NOT_RUN: RetryRule = wasNotRun;

/**
 * The project's only door to ClickHouse. Queries take Sql fragments (never plain strings) so
 * every value has gone through the binding helper. Every failure is classified on the way out
 * (clickhouse-errors.ts), so callers tell "try again" from "the schema is wrong" from a bug.
 * Reads run under per-query limits, so one heavy request cannot hold the server for everyone.
 *
 * CLICKHOUSE_URL may list several replicas of one shard. The service keeps to one (it reads its
 * own writes there) and moves to the next when that one is unreachable or lost its ZooKeeper,
 * passing it over for REPLICA_REST_MS; the statement is asked again there when that is safe.
 */
@Injectable()
export class ClickHouseService implements OnApplicationShutdown {
  private readonly logger = new Logger(ClickHouseService.name);
  private readonly replicas: Replica[];
  private current = 0;
  private readonly connection: ClickHouseClientConfigOptions;
  private readonly readLimits: ClickHouseSettings;
  readonly database: string;
  /** Set in cluster mode (CLICKHOUSE_CLUSTER): DDL runs ON CLUSTER, created tables are Replicated. */
  readonly cluster: string | undefined;
  /** 0 on one server: every read sees every write. */
  private readonly replicationGraceMs: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.database = config.clickhouse.database;
    this.cluster = config.clickhouse.cluster;
    const replicated = config.clickhouse.cluster !== undefined || config.clickhouse.urls.length > 1;
    this.replicationGraceMs = replicated ? config.clickhouse.replicationGraceMs : 0;
    this.connection = {
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
    this.replicas = config.clickhouse.urls.map((url) => ({
      name: new URL(url).host,
      url,
      client: createClient({ ...this.connection, url, database: this.database }),
      startUpClient: createClient({ ...this.connection, url, database: this.database, request_timeout: Math.max(config.clickhouse.requestTimeoutMs, START_UP_WORK_TIMEOUT_MS) }),
      restingUntil: 0,
    }));
  }

  /** host:port of the server in use (of CLICKHOUSE_URL's list, the one the service keeps to now). */
  get serverInUse(): string {
    return this.replicas[this.current].name;
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
    await this.onReplica(IDEMPOTENT, undefined, async (replica) => {
      const bootstrap = createClient({ ...this.connection, url: replica.url });
      try {
        await bootstrap.command({ query: sql`CREATE DATABASE IF NOT EXISTS ${ident(this.database)} ${this.onCluster()}`.text });
      } finally {
        await bootstrap.close();
      }
    });
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

  private read<Row>(statement: Sql, options: QueryOptions): Promise<Row[]> {
    return this.onReplica(IDEMPOTENT, options.signal, async (replica) => {
      const result = await replica.client.query({ query: statement.text, format: 'JSONEachRow', clickhouse_settings: this.readLimits, abort_signal: options.signal });
      return result.json<Row>();
    });
  }

  /** DDL and backfills, run at start-up (START_UP_WORK_TIMEOUT_MS). */
  async command(statement: Sql): Promise<void> {
    await this.onReplica(IDEMPOTENT, undefined, (replica) => replica.startUpClient.command({ query: statement.text }));
  }

  /** JSONEachRow insert: values travel as JSON data, never as SQL text. */
  async insert<Row extends Record<string, unknown>>(
    table: string,
    rows: readonly Row[],
    options: QueryOptions & { queryId?: string; startUpWork?: boolean } = {},
  ): Promise<void> {
    if (rows.length === 0) return;
    await this.onReplica(NOT_RUN, options.signal, (replica) =>
      (options.startUpWork ? replica.startUpClient : replica.client).insert({ table: ident(table).text, values: rows, format: 'JSONEachRow', abort_signal: options.signal, query_id: options.queryId }),
    );
  }

  /**
   * A lookup of a row a client may have written a moment ago through another replica (a key just
   * created, an OAuth code just issued, an account just registered): with replicas, when nothing
   * is found, it is asked once more after CLICKHOUSE_REPLICATION_GRACE_MS, since replication takes
   * tens of milliseconds. Only misses pay the wait.
   */
  async lookUpRecent<T>(lookUp: () => Promise<T | undefined>): Promise<T | undefined> {
    const found = await lookUp();
    if (found !== undefined || this.replicationGraceMs === 0) return found;
    await delay(this.replicationGraceMs);
    return lookUp();
  }

  /**
   * As lookUpRecent, for a lookup whose timing must not tell whether the row exists (a sign-in: an
   * unknown email must take as long as a wrong password): with replicas it always reads, waits the
   * grace and reads again.
   */
  async lookUpEvenly<T>(lookUp: () => Promise<T | undefined>): Promise<T | undefined> {
    if (this.replicationGraceMs === 0) return lookUp();
    const first = await lookUp();
    await delay(this.replicationGraceMs);
    return (await lookUp()) ?? first;
  }

  async serverVersion(): Promise<string> {
    const [row] = await this.query<{ version: string }>(sql`SELECT version() AS version`);
    return row.version;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.replicas.flatMap((replica) => [replica.client.close(), replica.startUpClient.close()]));
  }

  /**
   * Runs `work` on the replica in use. When that replica fails as a server (isReplicaFailure),
   * the next one is used from now on, and `work` is run there too if `mayRetry` allows: each
   * replica at most once per statement.
   */
  private async onReplica<T>(mayRetry: RetryRule, signal: AbortSignal | undefined, work: (replica: Replica) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const replica = this.replicaInUse();
      try {
        return await work(replica);
      } catch (raw) {
        const error = classifyClickHouseError(raw);
        // An aborted request (the caller's deadline passed) says nothing about the server.
        if (this.replicas.length === 1 || signal?.aborted || !isReplicaFailure(error)) throw error;
        this.passOver(replica, error);
        if (attempt >= this.replicas.length || !mayRetry(error)) throw error;
      }
    }
  }

  /** The replica in use, unless it is resting and another is not. */
  private replicaInUse(): Replica {
    const now = Date.now();
    for (let step = 0; step < this.replicas.length; step++) {
      const index = (this.current + step) % this.replicas.length;
      if (this.replicas[index].restingUntil <= now) {
        this.current = index;
        break;
      }
    }
    return this.replicas[this.current];
  }

  private passOver(replica: Replica, error: unknown): void {
    if (this.replicas[this.current] !== replica) return;
    replica.restingUntil = Date.now() + REPLICA_REST_MS;
    this.current = (this.current + 1) % this.replicas.length;
    this.logger.warn({ replica: replica.name, next: this.replicas[this.current].name, err: error }, 'ClickHouse replica failed; using the next one');
  }
}
