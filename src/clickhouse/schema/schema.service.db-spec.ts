import { randomUUID } from 'node:crypto';
import { USERS_TABLE } from '../../auth/users.table.js';
import { loadAppConfig } from '../../config/app-config.js';
import { MCP_API_KEYS_TABLE } from '../../mcp-keys/api-keys.table.js';
import { USAGE_LOG_TABLE } from '../../mcp-usage/usage-log.table.js';
import { clickHouseUrl, dropDatabase, uniqueDatabaseName } from '../../../test/support/clickhouse.js';
import { ClickHouseService } from '../clickhouse.service.js';
import { sql, str } from '../sql.js';
import { SchemaService } from './schema.service.js';
import { SchemaMismatchError, type TableSpec } from './table-spec.js';

describe(SchemaService.name, () => {
  const databases: string[] = [];
  const clients: ClickHouseService[] = [];

  /** A SchemaService on an empty database of its own, with these tables registered. */
  async function schemaFor(specs: TableSpec[], database = uniqueDatabaseName('schema')) {
    databases.push(database);
    const clickhouse = new ClickHouseService(loadAppConfig({ CLICKHOUSE_URL: clickHouseUrl(), CLICKHOUSE_DATABASE: database }));
    clients.push(clickhouse);
    await clickhouse.ensureDatabase();
    const schema = new SchemaService(clickhouse);
    for (const spec of specs) schema.register(spec);
    return { schema, clickhouse, database };
  }

  const columnsOf = async (clickhouse: ClickHouseService, table: string) =>
    (await clickhouse.query<{ name: string; type: string }>(sql`SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = ${str(table)}`)).map(
      (column) => `${column.name} ${column.type}`,
    );

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.onApplicationShutdown()));
    await Promise.all(databases.map((database) => dropDatabase(database)));
  });

  it("should create missing tables in their owner's shape, LowCardinality only where the server has it", async () => {
    const { schema, clickhouse } = await schemaFor([USERS_TABLE, USAGE_LOG_TABLE]);
    const adopted = await schema.adoptAll();

    expect(adopted.map((table) => [table.name, table.created, table.engine, table.versionColumn])).toEqual([
      ['users', true, 'ReplacingMergeTree', 'updated_at'],
      ['mcp_tool_usage_log', true, 'MergeTree', undefined],
    ]);
    expect(await columnsOf(clickhouse, 'users')).toEqual([
      'id String',
      'email String',
      'username String',
      'password_hash String',
      'is_active UInt8',
      'is_admin UInt8',
      'subscription_tier String',
      'created_at DateTime',
      'updated_at DateTime',
    ]);
    expect(await columnsOf(clickhouse, 'mcp_tool_usage_log')).toContain('record_count Int64');
    expect(await schema.supportsLowCardinality()).toBe(false);
  });

  it('should change nothing when adopted again, by a second instance', async () => {
    const { database } = await schemaFor([]);
    const first = await schemaFor([USERS_TABLE, MCP_API_KEYS_TABLE, USAGE_LOG_TABLE], database);
    await first.schema.adoptAll();
    const second = new SchemaService(first.clickhouse);
    for (const spec of [USERS_TABLE, MCP_API_KEYS_TABLE, USAGE_LOG_TABLE]) second.register(spec);

    const again = await second.adoptAll();

    expect(again.map((table) => [table.name, table.created, table.added])).toEqual([
      ['users', false, []],
      ['mcp_api_keys', false, []],
      ['mcp_tool_usage_log', false, []],
    ]);
  });

  it('should let two instances starting at the same moment both adopt the same new tables', async () => {
    const { database } = await schemaFor([]);
    const [a, b] = await Promise.all([schemaFor([USERS_TABLE, MCP_API_KEYS_TABLE], database), schemaFor([USERS_TABLE, MCP_API_KEYS_TABLE], database)]);
    const [fromA, fromB] = await Promise.all([a.schema.adoptAll(), b.schema.adoptAll()]);
    expect(fromA.map((table) => table.name)).toEqual(['users', 'mcp_api_keys']);
    expect(fromB.map((table) => table.columns.size)).toEqual(fromA.map((table) => table.columns.size));
  });

  it("should add the missing columns it needs to an older shape, derived from that shape's columns", async () => {
    const { schema, clickhouse } = await schemaFor([MCP_API_KEYS_TABLE]);
    // This gateway's first shape of the keys table, with one key in it.
    await clickhouse.command(sql`CREATE TABLE mcp_api_keys (id String, user_id String, key_name String, key_hash String, api_key_prefix String,
      is_active UInt8, expires_at Nullable(DateTime('UTC')), created_at DateTime('UTC'), revoked_at Nullable(DateTime('UTC')), version UInt64)
      ENGINE = ReplacingMergeTree(version) ORDER BY (user_id, id)`);
    await clickhouse.command(sql`INSERT INTO mcp_api_keys (id, user_id, key_name, key_hash, api_key_prefix, is_active, created_at, version)
      VALUES ('k1', 'u1', 'old', 'abc123', 'sk-abc...', 1, '2026-01-01 00:00:00', 7)`);

    const [keys] = await schema.adoptAll();

    expect([keys.created, keys.added, keys.versionColumn]).toEqual([false, ['api_key_hash', 'updated_at', 'version DEFAULT'], 'version']);
    const [row] = await clickhouse.query<Record<string, unknown>>(sql`SELECT api_key_hash, toUnixTimestamp(updated_at) AS updated_at FROM mcp_api_keys`);
    expect(row).toEqual({ api_key_hash: 'abc123', updated_at: 1767225600 });

    // The original service revokes with a row of its own column set, without `version`: it must win.
    await clickhouse.command(sql`INSERT INTO mcp_api_keys (id, user_id, key_name, api_key_hash, api_key_prefix, is_active, created_at, updated_at)
      VALUES ('k1', 'u1', 'old', 'abc123', 'sk-abc...', 0, '2026-01-01 00:00:00', '2026-02-01 00:00:00')`);
    const [newest] = await clickhouse.query<{ is_active: number; version: string }>(sql`SELECT is_active, toString(version) AS version FROM mcp_api_keys FINAL`);
    expect(newest).toEqual({ is_active: 0, version: '1769904000000000' });
  });

  it('should refuse tables it cannot use, naming table, column and what to do, and change nothing', async () => {
    const { schema, clickhouse } = await schemaFor([USERS_TABLE, MCP_API_KEYS_TABLE, USAGE_LOG_TABLE]);
    await clickhouse.command(sql`CREATE TABLE users (id String, email UInt64, created_at DateTime) ENGINE = MergeTree ORDER BY id`);
    await clickhouse.command(sql`CREATE TABLE mcp_tool_usage_log (id String, user_id String, tool_name String, created_at DateTime) ENGINE = Log`);
    await clickhouse.command(sql`CREATE TABLE mcp_api_keys (id String, user_id String, expires_at DateTime, updated_at DateTime) ENGINE = ReplacingMergeTree(updated_at) ORDER BY id`);

    const error = await schema.adoptAll().catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(SchemaMismatchError);
    const { problems } = error as SchemaMismatchError;
    expect(problems).toContain(
      'table users has engine MergeTree; this service needs ReplacingMergeTree or ReplicatedReplacingMergeTree (the shape the original stock data service creates). ' +
        'Move the table aside (RENAME TABLE users TO users_old) and let the service create it, or point CLICKHOUSE_DATABASE elsewhere',
    );
    expect(problems).toContain('table users column email is UInt64; this service needs a non-nullable string column such as String');
    expect(problems).toContain(
      'table users has no column password_hash (String), which this service reads and writes; add it: ALTER TABLE users ADD COLUMN password_hash String',
    );
    expect(problems).toContain('table mcp_api_keys has no column key_name (String), which this service reads and writes; add it: ALTER TABLE mcp_api_keys ADD COLUMN key_name String');
    expect(problems).toContain('table mcp_api_keys column expires_at is DateTime; this service needs a Nullable datetime column such as Nullable(DateTime)');
    expect(problems.some((problem) => problem.startsWith('table mcp_tool_usage_log has engine Log'))).toBe(true);
    // Nothing was added to the one table that could have been extended.
    expect(await columnsOf(clickhouse, 'mcp_api_keys')).toEqual(['id String', 'user_id String', 'expires_at DateTime', 'updated_at DateTime']);
  });

  it('should run what a table asked for once it is adopted', async () => {
    const ran: string[] = [];
    const { schema } = await schemaFor([]);
    schema.register({ ...USERS_TABLE, name: `users_${randomUUID().slice(0, 8)}` }, (table) => Promise.resolve(void ran.push(table.name)));
    await schema.adoptAll();
    expect(ran).toHaveLength(1);
  });
});
