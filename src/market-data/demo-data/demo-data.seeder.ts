import { Inject, Injectable, Logger } from '@nestjs/common';
import { StoreUnavailableError } from '../../clickhouse/clickhouse-errors.js';
import { ClickHouseService } from '../../clickhouse/clickhouse.service.js';
import { SchemaService } from '../../clickhouse/schema/schema.service.js';
import { existingColumnsOnly } from '../../clickhouse/schema/table-spec.js';
import { sql } from '../../clickhouse/sql.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { demoDataBatches } from './demo-data.generator.js';

const BATCH_ROWS = 5000;
/** Attempts per batch when ClickHouse is slow or away at start-up; then seeding stops for this run. */
const ATTEMPTS = 4;

export interface SeedResult {
  seeded: boolean;
  /** Rows inserted per table; empty when nothing was seeded. */
  rows: Record<string, number>;
}

/**
 * Fills the market tables on first start (DEMO_DATA) so a fresh install has data to query. A
 * stock list with rows means "already seeded" (the generator writes it last). A seed cut short
 * (ClickHouse away for longer than the retries) is logged and redone on the next start: the
 * rows it wrote again are newer-or-equal versions of the same keys, which reads collapse. Rows
 * go into whatever columns the adopted tables have.
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
    if (await this.hasStocks()) {
      this.logger.log({ table: 'ods_stock_basic' }, 'stock data present, demo data not seeded');
      return { seeded: false, rows: {} };
    }
    const rows: Record<string, number> = {};
    for (const batch of demoDataBatches(today, BATCH_ROWS)) {
      const table = this.schema.table(batch.table);
      if (!(await this.insertWithRetries(batch.table, batch.rows.map((row) => existingColumnsOnly(table, { ...row }))))) {
        this.logger.warn({ rows }, 'demo data seeding stopped: ClickHouse did not take a batch; the next start tries again');
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
        await this.clickhouse.insert(table, rows);
        return true;
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      }
    }
    return false;
  }

  private async hasStocks(): Promise<boolean> {
    const found = await this.clickhouse.query<{ present: number }>(sql`SELECT 1 AS present FROM ods_stock_basic LIMIT 1`);
    return found.length > 0;
  }
}
