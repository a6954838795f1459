import { spawnSync } from 'node:child_process';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';

/**
 * The original stock data service (Yourdaylight/stock_datasource) as far as its database goes:
 * its DDL (modules/auth, modules/mcp_api_key, modules/mcp_usage schema.sql; plugins/*\/schema.json
 * turned into DDL by its BasePlugin) and the rows it writes, statement for statement. ClickHouse
 * 18.16 lacks LowCardinality (without a setting) and table comments: those become String and are
 * left out, as an operator running the original on 18.16 must do.
 */
export const ORIGINAL_DDL = [
  `CREATE TABLE IF NOT EXISTS users (
    id String, email String, username String, password_hash String,
    is_active UInt8 DEFAULT 1, is_admin UInt8 DEFAULT 0, subscription_tier String DEFAULT 'free',
    created_at DateTime DEFAULT now(), updated_at DateTime DEFAULT now()
  ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (email, id) SETTINGS index_granularity = 8192`,
  `CREATE TABLE IF NOT EXISTS email_whitelist (
    id String, email String, added_by String DEFAULT 'system', is_active UInt8 DEFAULT 1, created_at DateTime DEFAULT now()
  ) ENGINE = ReplacingMergeTree(created_at) ORDER BY (email, id) SETTINGS index_granularity = 8192`,
  `CREATE TABLE IF NOT EXISTS mcp_api_keys (
    id String, user_id String, key_name String DEFAULT '', api_key_hash String, api_key_prefix String DEFAULT '',
    is_active UInt8 DEFAULT 1, last_used_at Nullable(DateTime) DEFAULT NULL, expires_at Nullable(DateTime) DEFAULT NULL,
    created_at DateTime DEFAULT now(), updated_at DateTime DEFAULT now()
  ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (user_id, id) SETTINGS index_granularity = 8192`,
  `CREATE TABLE IF NOT EXISTS mcp_tool_usage_log (
    id String, user_id String, api_key_id String DEFAULT '', tool_name String, service_prefix String DEFAULT '',
    table_name String DEFAULT '', arguments String DEFAULT '', record_count Int64 DEFAULT 0, duration_ms Int64 DEFAULT 0,
    is_error UInt8 DEFAULT 0, error_message String DEFAULT '', created_at DateTime DEFAULT now()
  ) ENGINE = MergeTree() ORDER BY (user_id, created_at, id) PARTITION BY toYYYYMM(created_at) SETTINGS index_granularity = 8192`,
  `CREATE TABLE IF NOT EXISTS ods_daily (
    \`ts_code\` String COMMENT 'TS股票代码', \`trade_date\` Date COMMENT '交易日期', \`open\` Nullable(Float64), \`high\` Nullable(Float64),
    \`low\` Nullable(Float64), \`close\` Nullable(Float64), \`pre_close\` Nullable(Float64), \`change\` Nullable(Float64),
    \`pct_chg\` Nullable(Float64), \`vol\` Nullable(Float64), \`amount\` Nullable(Float64),
    \`version\` UInt32 DEFAULT toUInt32(toUnixTimestamp(now())), \`_ingested_at\` DateTime DEFAULT now()
  ) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(trade_date) ORDER BY (ts_code, trade_date)`,
  `CREATE TABLE IF NOT EXISTS ods_daily_basic (
    \`ts_code\` String, \`trade_date\` Date, \`close\` Nullable(Float64), \`turnover_rate\` Nullable(Float64), \`turnover_rate_f\` Nullable(Float64),
    \`volume_ratio\` Nullable(Float64), \`pe\` Nullable(Float64), \`pe_ttm\` Nullable(Float64), \`pb\` Nullable(Float64), \`ps\` Nullable(Float64),
    \`ps_ttm\` Nullable(Float64), \`dv_ratio\` Nullable(Float64), \`dv_ttm\` Nullable(Float64), \`total_share\` Nullable(Float64),
    \`float_share\` Nullable(Float64), \`free_share\` Nullable(Float64), \`total_mv\` Nullable(Float64), \`circ_mv\` Nullable(Float64),
    \`version\` UInt32 DEFAULT toUInt32(toUnixTimestamp(now())), \`_ingested_at\` DateTime DEFAULT now()
  ) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(trade_date) ORDER BY (ts_code, trade_date)`,
  `CREATE TABLE IF NOT EXISTS ods_stock_basic (
    \`ts_code\` String, \`symbol\` String, \`name\` String, \`area\` String, \`industry\` String, \`market\` String, \`list_date\` Date,
    \`delist_date\` Nullable(Date), \`list_status\` String,
    \`version\` UInt32 DEFAULT toUInt32(toUnixTimestamp(now())), \`_ingested_at\` DateTime DEFAULT now()
  ) ENGINE = ReplacingMergeTree(version) ORDER BY (ts_code, list_date)`,
  `CREATE TABLE IF NOT EXISTS ods_trade_calendar (
    \`exchange\` String, \`cal_date\` Date, \`is_open\` UInt8, \`pretrade_date\` Date,
    \`version\` UInt32 DEFAULT toUInt32(toUnixTimestamp(now())), \`_ingested_at\` DateTime DEFAULT now()
  ) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(cal_date) ORDER BY (exchange, cal_date)`,
  `CREATE TABLE IF NOT EXISTS ods_adj_factor (
    \`ts_code\` String, \`trade_date\` Date, \`adj_factor\` Nullable(Float64),
    \`version\` UInt32 DEFAULT toUInt32(toUnixTimestamp(now())), \`_ingested_at\` DateTime DEFAULT now()
  ) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(trade_date) ORDER BY (ts_code, trade_date)`,
];

/** `password` hashed by passlib 1.7.4 (CryptContext(schemes=["bcrypt"]), bcrypt 3.2.2), as the original stores it. */
export const PASSLIB_ACCOUNT = { password: 'original-password-1', hash: '$2b$12$ffQkoAtbuS3r89E7jRwpJ.mMS7bPowUBDIK8SkuJQifEt1P228W/W' };

const quote = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The original's register: naive local timestamps (the server's zone reads them). */
export async function insertOriginalUser(client: ClickHouseClient, user: { id: string; email: string; passwordHash: string; createdAt: string }): Promise<void> {
  await client.command({
    query: `INSERT INTO users (id, email, username, password_hash, is_active, is_admin, subscription_tier, created_at, updated_at)
      VALUES (${quote(user.id)}, ${quote(user.email)}, ${quote(user.email.split('@')[0])}, ${quote(user.passwordHash)}, 1, 0, 'free', ${quote(user.createdAt)}, ${quote(user.createdAt)})`,
  });
}

/** The original's create_api_key: `sk-` + 64 hex, SHA-256 in api_key_hash, the first 12 characters + "..." as prefix. */
export async function insertOriginalKey(client: ClickHouseClient, userId: string, createdAt: string): Promise<{ id: string; key: string }> {
  const key = `sk-${createHash('sha256').update(randomUUID()).digest('hex')}`;
  const id = randomUUID();
  await client.command({
    query: `INSERT INTO mcp_api_keys (id, user_id, key_name, api_key_hash, api_key_prefix, is_active, expires_at, created_at, updated_at)
      VALUES (${quote(id)}, ${quote(userId)}, 'from-original', ${quote(createHash('sha256').update(key).digest('hex'))}, ${quote(`${key.slice(0, 12)}...`)}, 1, NULL, ${quote(createdAt)}, ${quote(createdAt)})`,
  });
  return { id, key };
}

/** The original's revoke_api_key: the key row again, is_active 0, a later updated_at, last_used_at not copied. */
export async function revokeAsOriginal(client: ClickHouseClient, keyId: string, at: string): Promise<void> {
  await client.command({
    query: `INSERT INTO mcp_api_keys (id, user_id, key_name, api_key_hash, api_key_prefix, is_active, expires_at, created_at, updated_at)
      SELECT id, user_id, key_name, api_key_hash, api_key_prefix, 0, expires_at, created_at, ${quote(at)} FROM mcp_api_keys FINAL WHERE id = ${quote(keyId)}`,
  });
}

/** The original's validate_api_key query: what it accepts. */
export const ORIGINAL_VALIDATE_QUERY = (key: string) =>
  `SELECT id, user_id, is_active, expires_at FROM mcp_api_keys FINAL WHERE api_key_hash = ${quote(createHash('sha256').update(key).digest('hex'))} AND is_active = 1`;

/** The original's _log_mcp_usage: six columns, the rest left to their defaults. */
export async function insertOriginalUsage(client: ClickHouseClient, row: { userId: string; keyId: string; toolName: string; createdAt: string }): Promise<string> {
  const id = randomUUID();
  await client.command({
    query: `INSERT INTO mcp_tool_usage_log (id, user_id, api_key_id, tool_name, record_count, created_at)
      VALUES (${quote(id)}, ${quote(row.userId)}, ${quote(row.keyId)}, ${quote(row.toolName)}, 1, ${quote(row.createdAt)})`,
  });
  return id;
}

/** An HS256 token as the original's login issues it (PyJWT): sub, email, tier, exp, iat. */
export function originalJwt(secret: string, claims: { sub: string; email: string }, lifetimeSeconds = 7 * 86_400): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const iat = Math.floor(Date.now() / 1000);
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ ...claims, tier: 'free', exp: iat + lifetimeSeconds, iat })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

/**
 * Rows of one of the original repository's plugins/*\/latest_data.csv files (an excerpt is in
 * test/fixtures/original), as its loader would insert them: YYYYMMDD dates as dates, empty cells NULL.
 */
export function fixtureRows(table: string): Record<string, unknown>[] {
  const [header, ...lines] = readFileSync(resolve(import.meta.dirname, `../fixtures/original/${table}.csv`), 'utf8').trim().split('\n');
  const columns = header.split(',');
  return lines.map((line) =>
    Object.fromEntries(
      line.split(',').map((cell, index) => {
        const column = columns[index];
        if (cell === '') return [column, null];
        if (/^\d{8}$/.test(cell) && /date/.test(column)) return [column, `${cell.slice(0, 4)}-${cell.slice(4, 6)}-${cell.slice(6)}`];
        if (column === '_ingested_at') return [column, cell.slice(0, 19)];
        if (['ts_code', 'symbol', 'name', 'area', 'industry', 'list_status'].includes(column)) return [column, cell];
        return [column, Number(cell)];
      }),
    ),
  );
}

/** Debian's python3, where python3-passlib and python3-bcrypt install (scripts/test.sh installs them); another python3 first on PATH may lack them. */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Whether passlib can be asked here. */
export function passlibAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import passlib.context, bcrypt'], { stdio: 'ignore' }).status === 0;
}

/** passlib's own verdict, as the original's login would reach it. */
export function passlibVerifies(password: string, hash: string): boolean {
  const script = 'import sys; from passlib.context import CryptContext; print(CryptContext(schemes=["bcrypt"], deprecated="auto").verify(sys.argv[1], sys.argv[2]))';
  const result = spawnSync(PYTHON, ['-c', script, password, hash], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`passlib failed: ${result.stderr}`);
  return result.stdout.trim() === 'True';
}
