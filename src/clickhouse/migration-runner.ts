import { Injectable, Logger } from '@nestjs/common';
import { ClickHouseService } from './clickhouse.service.js';
import type { Migration } from './migration.js';
import { MIGRATIONS } from './migrations/index.js';
import { formatDateTime, sql } from './sql.js';

/**
 * Applies pending migrations in version order and records each in schema_migrations. Running it
 * again changes nothing; two instances starting together are safe because every statement is
 * idempotent and the record table collapses duplicates by version.
 */
@Injectable()
export class MigrationRunner {
  private readonly logger = new Logger(MigrationRunner.name);

  constructor(private readonly clickhouse: ClickHouseService) {}

  async run(migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
    await this.clickhouse.ensureDatabase();
    await this.clickhouse.command(sql`CREATE TABLE IF NOT EXISTS schema_migrations (
      version UInt32,
      name String,
      applied_at DateTime('UTC')
    ) ENGINE = ReplacingMergeTree ORDER BY version`);
    const applied = new Set(await this.appliedVersions());
    const pending = [...migrations].sort((a, b) => a.version - b.version).filter((m) => !applied.has(m.version));
    for (const migration of pending) {
      for (const statement of migration.statements) await this.clickhouse.command(statement);
      await this.clickhouse.insert('schema_migrations', [
        { version: migration.version, name: migration.name, applied_at: formatDateTime(new Date()) },
      ]);
      this.logger.log({ version: migration.version, name: migration.name }, 'migration applied');
    }
    return pending.map((m) => m.version);
  }

  async appliedVersions(): Promise<number[]> {
    const rows = await this.clickhouse.query<{ version: number }>(
      sql`SELECT version FROM schema_migrations FINAL ORDER BY version`,
    );
    return rows.map((row) => row.version);
  }
}

