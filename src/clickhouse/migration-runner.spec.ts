import { ClickHouseService } from './clickhouse.service.js';
import { MigrationRunner } from './migration-runner.js';
import { MIGRATIONS } from './migrations/index.js';
import { sql } from './sql.js';
import { loadAppConfig } from '../config/app-config.js';
import { clickHouseUrl, dropDatabase, uniqueDatabaseName } from '../../test/support/clickhouse.js';

describe(MigrationRunner.name, () => {
  const database = uniqueDatabaseName('migrations');
  let clickhouse: ClickHouseService;
  let runner: MigrationRunner;

  beforeAll(() => {
    clickhouse = new ClickHouseService(loadAppConfig({ CLICKHOUSE_URL: clickHouseUrl(), CLICKHOUSE_DATABASE: database }));
    runner = new MigrationRunner(clickhouse);
  });

  afterAll(async () => {
    await clickhouse.onApplicationShutdown();
    await dropDatabase(database);
  });

  it('should create the database and apply every migration once, in order', async () => {
    const applied = await runner.run();
    expect(applied).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await runner.appliedVersions()).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('should change nothing when run again', async () => {
    expect(await runner.run()).toEqual([]);
    const [row] = await clickhouse.query<{ n: string }>(sql`SELECT count() AS n FROM schema_migrations`);
    expect(Number(row.n)).toBe(MIGRATIONS.length);
  });

  it('should apply a new migration exactly once', async () => {
    const extra = { version: 9_999, name: 'test table', statements: [sql`CREATE TABLE IF NOT EXISTS extra (x UInt8) ENGINE = MergeTree ORDER BY x`] };
    expect(await runner.run([...MIGRATIONS, extra])).toEqual([9_999]);
    expect(await runner.run([...MIGRATIONS, extra])).toEqual([]);
    const tables = await clickhouse.query<{ name: string }>(sql`SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name`);
    expect(tables.map((t) => t.name)).toContain('extra');
  });
});
