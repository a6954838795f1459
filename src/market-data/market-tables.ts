import { type ColumnSpec, MERGE_TREE_ENGINES, type TableSpec } from '../clickhouse/schema/table-spec.js';
import { sql } from '../clickhouse/sql.js';

/**
 * The tushare tables of the original stock data service, as its plugins' schema.json files
 * define them (ReplacingMergeTree(version), Nullable(Float64) metrics, `version` and
 * `_ingested_at`). Key columns are required; every other column is read when the table has it.
 * Its loader re-ingests days, so a key can have several unmerged versions: tools read the newest
 * (see MarketDataRepository.latest), never assuming merges happened.
 */

const code: ColumnSpec = { name: 'ts_code', family: 'string', type: sql`LowCardinality(String)`, role: 'required' };
const tradeDate: ColumnSpec = { name: 'trade_date', family: 'date', type: sql`Date`, role: 'required' };
const metric = (name: string): ColumnSpec => ({ name, family: 'float', type: sql`Nullable(Float64)`, role: 'optional', nullable: true });
const text = (name: string): ColumnSpec => ({ name, family: 'string', type: sql`String`, role: 'optional' });
/** The loader's version (ingest time in seconds) and ingest time; newer rows of a key win. */
const ingestColumns: ColumnSpec[] = [
  { name: 'version', family: 'integer', type: sql`UInt32`, role: 'optional', default: sql`toUInt32(toUnixTimestamp(now()))` },
  { name: '_ingested_at', family: 'datetime', type: sql`DateTime`, role: 'optional', default: sql`now()` },
];
const owner = 'the original stock data service (tushare plugins)';

/** The key of ods_daily and ods_adj_factor rows: one per stock and trading day. */
export const DAILY_KEY = ['ts_code', 'trade_date'];

export const DAILY_COLUMNS = ['ts_code', 'trade_date', 'open', 'high', 'low', 'close', 'pre_close', 'change', 'pct_chg', 'vol', 'amount'] as const;

export const ODS_DAILY: TableSpec = {
  name: 'ods_daily',
  owner,
  engine: sql`ReplacingMergeTree(version)`,
  partitionBy: sql`toYYYYMM(trade_date)`,
  orderBy: sql`(ts_code, trade_date)`,
  acceptedEngines: MERGE_TREE_ENGINES,
  columns: [code, tradeDate, ...DAILY_COLUMNS.slice(2).map(metric), ...ingestColumns],
};

export const DAILY_BASIC_COLUMNS = [
  'ts_code', 'trade_date', 'close', 'turnover_rate', 'turnover_rate_f', 'volume_ratio', 'pe', 'pe_ttm', 'pb', 'ps', 'ps_ttm',
  'dv_ratio', 'dv_ttm', 'total_share', 'float_share', 'free_share', 'total_mv', 'circ_mv',
] as const;

export const ODS_DAILY_BASIC: TableSpec = {
  name: 'ods_daily_basic',
  owner,
  engine: sql`ReplacingMergeTree(version)`,
  partitionBy: sql`toYYYYMM(trade_date)`,
  orderBy: sql`(ts_code, trade_date)`,
  acceptedEngines: MERGE_TREE_ENGINES,
  columns: [code, tradeDate, ...DAILY_BASIC_COLUMNS.slice(2).map(metric), ...ingestColumns],
};

export const STOCK_BASIC_COLUMNS = ['ts_code', 'symbol', 'name', 'area', 'industry', 'market', 'list_date', 'delist_date', 'list_status'] as const;

export const ODS_STOCK_BASIC: TableSpec = {
  name: 'ods_stock_basic',
  owner,
  engine: sql`ReplacingMergeTree(version)`,
  orderBy: sql`(ts_code, list_date)`,
  acceptedEngines: MERGE_TREE_ENGINES,
  columns: [
    code,
    text('symbol'),
    { ...text('name'), role: 'required' },
    text('area'),
    text('industry'),
    text('market'),
    { name: 'list_date', family: 'date', type: sql`Date`, role: 'optional' },
    { name: 'delist_date', family: 'date', type: sql`Nullable(Date)`, role: 'optional', nullable: true },
    { name: 'list_status', family: 'string', type: sql`LowCardinality(String)`, role: 'optional' },
    ...ingestColumns,
  ],
};

export const TRADE_CALENDAR_COLUMNS = ['exchange', 'cal_date', 'is_open', 'pretrade_date'] as const;

export const ODS_TRADE_CALENDAR: TableSpec = {
  name: 'ods_trade_calendar',
  owner,
  engine: sql`ReplacingMergeTree(version)`,
  partitionBy: sql`toYYYYMM(cal_date)`,
  orderBy: sql`(exchange, cal_date)`,
  acceptedEngines: MERGE_TREE_ENGINES,
  columns: [
    { name: 'exchange', family: 'string', type: sql`LowCardinality(String)`, role: 'required' },
    { name: 'cal_date', family: 'date', type: sql`Date`, role: 'required' },
    { name: 'is_open', family: 'integer', type: sql`UInt8`, role: 'required' },
    { name: 'pretrade_date', family: 'date', type: sql`Date`, role: 'optional' },
    ...ingestColumns,
  ],
};

export const ADJ_FACTOR_COLUMNS = ['ts_code', 'trade_date', 'adj_factor'] as const;

export const ODS_ADJ_FACTOR: TableSpec = {
  name: 'ods_adj_factor',
  owner,
  engine: sql`ReplacingMergeTree(version)`,
  partitionBy: sql`toYYYYMM(trade_date)`,
  orderBy: sql`(ts_code, trade_date)`,
  acceptedEngines: MERGE_TREE_ENGINES,
  columns: [code, tradeDate, { ...metric('adj_factor'), role: 'required' }, ...ingestColumns],
};

export const MARKET_TABLES: readonly TableSpec[] = [ODS_STOCK_BASIC, ODS_DAILY, ODS_DAILY_BASIC, ODS_TRADE_CALENDAR, ODS_ADJ_FACTOR];
