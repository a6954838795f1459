import type { Migration } from '../migration.js';
import { sql } from '../sql.js';

/**
 * The original system's market-data tables, with its column names, so the data tools read an
 * existing database unchanged and a fresh one gets demo data. ReplacingMergeTree collapses the
 * rows a re-run of an interrupted demo seed would insert twice; the tools never read with FINAL,
 * because an existing database may hold these tables as plain MergeTree.
 */
export const createDemoStockTables: Migration = {
  version: 4,
  name: 'create demo stock tables',
  statements: [
    sql`CREATE TABLE IF NOT EXISTS ods_stock_basic (
      ts_code String,
      symbol String,
      name String,
      area String,
      industry String,
      market String,
      exchange String,
      list_date Date,
      list_status String
    ) ENGINE = ReplacingMergeTree
    ORDER BY ts_code`,
    sql`CREATE TABLE IF NOT EXISTS ods_daily (
      ts_code String,
      trade_date Date,
      open Float64,
      high Float64,
      low Float64,
      close Float64,
      pre_close Float64,
      change Float64,
      pct_chg Float64,
      vol Float64,
      amount Float64
    ) ENGINE = ReplacingMergeTree
    PARTITION BY toYYYYMM(trade_date)
    ORDER BY (ts_code, trade_date)`,
    sql`CREATE TABLE IF NOT EXISTS ods_trade_calendar (
      exchange String,
      cal_date Date,
      is_open UInt8,
      pretrade_date Date
    ) ENGINE = ReplacingMergeTree
    ORDER BY (exchange, cal_date)`,
    sql`CREATE TABLE IF NOT EXISTS ods_daily_basic (
      ts_code String,
      trade_date Date,
      close Float64,
      turnover_rate Float64,
      volume_ratio Float64,
      pe Float64,
      pe_ttm Float64,
      pb Float64,
      ps Float64,
      total_share Float64,
      float_share Float64,
      total_mv Float64,
      circ_mv Float64
    ) ENGINE = ReplacingMergeTree
    PARTITION BY toYYYYMM(trade_date)
    ORDER BY (ts_code, trade_date)`,
  ],
};
