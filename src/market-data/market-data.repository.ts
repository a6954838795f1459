import { Injectable } from '@nestjs/common';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { SchemaService } from '../clickhouse/schema/schema.service.js';
import { type Sql, ident, join, sql } from '../clickhouse/sql.js';
import { MARKET_TABLES } from './market-tables.js';

/** One row as ClickHouse returns it, before a tool shapes it. */
export type Row = Record<string, unknown>;

/**
 * Reads the tushare market tables as they are: an operator's may lack metric columns (tools
 * return the columns that exist) and hold several unmerged versions of a key (reads keep the
 * newest).
 */
@Injectable()
export class MarketDataRepository {
  constructor(
    private readonly clickhouse: ClickHouseService,
    private readonly schema: SchemaService,
  ) {
    for (const table of MARKET_TABLES) schema.register(table);
  }

  rows<T = Row>(statement: Sql): Promise<T[]> {
    return this.clickhouse.query<T>(statement);
  }

  /** Of `wanted`, the columns the table has, in that order. */
  columns(table: string, wanted: readonly string[]): string[] {
    const present = this.schema.table(table).columns;
    return wanted.filter((column) => present.has(column));
  }

  /** A select list of those columns. */
  select(table: string, wanted: readonly string[]): Sql {
    return join(this.columns(table, wanted).map(ident), ', ');
  }

  /**
   * The newest version of each key's row, as a subquery: the answer FINAL would give (highest
   * `version`, then latest `_ingested_at`), without FINAL's cost on ClickHouse 18.16 and whatever
   * the engine (plain MergeTree copies collapse too). `keyWhere` may constrain key columns only
   * (every version of a key then matches alike); filter on other columns outside the subquery,
   * so they judge the newest version.
   */
  latest(table: string, key: readonly string[], wanted: readonly string[], keyWhere: Sql): Sql {
    const newestFirst = this.columns(table, ['version', '_ingested_at']).map((column) => sql`${ident(column)} DESC`);
    const keyList = join(key.map(ident), ', ');
    const order = join([...key.map(ident), ...newestFirst], ', ');
    return sql`(SELECT ${this.select(table, wanted)} FROM ${ident(table)} WHERE ${keyWhere} ORDER BY ${order} LIMIT 1 BY ${keyList})`;
  }
}
