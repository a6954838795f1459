import { Inject, Injectable, Logger } from '@nestjs/common';
import { StoreUnavailableError } from '../../clickhouse/clickhouse-errors.js';
import { ClickHouseService } from '../../clickhouse/clickhouse.service.js';
import { SchemaService } from '../../clickhouse/schema/schema.service.js';
import { existingColumnsOnly } from '../../clickhouse/schema/table-spec.js';
import { ident, sql } from '../../clickhouse/sql.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { MARKET_TABLES } from '../market-tables.js';
import { demoDataBatches } from './demo-data.generator.js';

const BATCH_ROWS = 5000;
/**
 * Attempts per batch when ClickHouse is slow or away at start-up (about 15 s of waits in all); then
 * seeding stops for this run. A cut-short seed stays cut short (see the class comment), so it is
 * worth waiting for: a batch that timed out on the client has usually landed, and its retry only
 * adds versions that reads collapse.
 */
const ATTEMPTS = 8;
const MAX_RETRY_DELAY_MS = 4000;

export interface SeedResult {
  seeded: boolean;
  /** Rows inserted per table; empty when nothing was seeded. */
  rows: Record<string, number>;
}

/**
 * Fills the market tables on first start (DEMO_DATA) so a fresh install has data to query. It
 * writes only when every market table is empty: made-up prices must never mix with someone's
 * real ones (a database with bars but no stock list yet is a real one mid-load). A seed cut short
 * (ClickHouse away for longer than the retries) is logged; the rows it left keep later starts
 * from seeding until the tables are emptied. Rows go into whatever columns the adopted tables have.
 */
@Injectable()
export class DemoDataSeeder {
  private readonly logger = new Logger(DemoDataSeeder.name);

  constructor(
    private readonly clickhouse: ClickHouseService,
    private readonly schema: SchemaService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async seedIfEmpty(today = new Date()): Promise<SeedResult> {
    if (!this.config.demoData) return { seeded: false, rows: {} };
    const holdingRows = await this.tablesWithRows();
    if (holdingRows.length > 0) {
      this.logger.log({ tables: holdingRows }, 'market tables hold data, demo data not seeded');
      return { seeded: false, rows: {} };
    }
    const rows: Record<string, number> = {};
    for (const batch of demoDataBatches(today, BATCH_ROWS)) {
      const table = this.schema.table(batch.table);
      if (!(await this.insertWithRetries(batch.table, batch.rows.map((row) => existingColumnsOnly(table, { ...row }))))) {
        this.logger.warn({ rows }, 'demo data seeding stopped: ClickHouse did not take a batch; empty the market tables to seed on the next start');
        return { seeded: false, rows };
      }
      rows[batch.table] = (rows[batch.table] ?? 0) + batch.rows.length;
    }
    this.logger.log({ rows }, 'demo data seeded');
    return { seeded: true, rows };
  }

  private async insertWithRetries(table: string, rows: Record<string, unknown>[]): Promise<boolean> {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        await this.clickhouse.insert(table, rows, { startUpWork: true });
        return true;
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS)));
      }
    }
    return false;
  }

  private async tablesWithRows(): Promise<string[]> {
    const holding: string[] = [];
    for (const table of MARKET_TABLES) {
      const found = await this.clickhouse.query<{ present: number }>(sql`SELECT 1 AS present FROM ${ident(table.name)} LIMIT 1`);
      if (found.length > 0) holding.push(table.name);
    }
    return holding;
  }
}
