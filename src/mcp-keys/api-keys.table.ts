import { REPLACING_ENGINES, type TableSpec } from '../clickhouse/schema/table-spec.js';
import { sql } from '../clickhouse/sql.js';
import { LEGACY_VERSION_COLUMN, UPDATED_AT_COLUMN } from '../clickhouse/schema/version-columns.js';

/**
 * Keys, in the original stock data service's shape (modules/mcp_api_key/schema.sql): only the
 * SHA-256 of a key is kept, in api_key_hash. A revoke is a new row with is_active = 0 and a later
 * updated_at. key_hash, version and revoked_at are columns of this gateway's first shape, still
 * written while a table has them; api_key_hash and updated_at are added to such a table, derived
 * from them.
 */
export const MCP_API_KEYS_TABLE: TableSpec = {
  name: 'mcp_api_keys',
  owner: 'the original stock data service',
  engine: sql`ReplacingMergeTree(updated_at)`,
  orderBy: sql`(user_id, id)`,
  acceptedEngines: REPLACING_ENGINES,
  columns: [
    { name: 'id', family: 'string', type: sql`String`, role: 'required' },
    { name: 'user_id', family: 'string', type: sql`String`, role: 'required' },
    { name: 'key_name', family: 'string', type: sql`String`, role: 'required', default: sql`''` },
    { name: 'api_key_hash', family: 'string', type: sql`String`, role: 'added', addDefault: (columns) => (columns.has('key_hash') ? sql`key_hash` : undefined) },
    { name: 'api_key_prefix', family: 'string', type: sql`String`, role: 'required', default: sql`''` },
    { name: 'is_active', family: 'integer', type: sql`UInt8`, role: 'required', default: sql`1` },
    { name: 'last_used_at', family: 'datetime', type: sql`Nullable(DateTime)`, role: 'optional', nullable: true, default: sql`NULL` },
    { name: 'expires_at', family: 'datetime', type: sql`Nullable(DateTime)`, role: 'required', nullable: 'required', default: sql`NULL` },
    { name: 'created_at', family: 'datetime', type: sql`DateTime`, role: 'required', default: sql`now()` },
    UPDATED_AT_COLUMN,
    { name: 'key_hash', family: 'string', type: sql`String`, role: 'optional', legacy: true },
    LEGACY_VERSION_COLUMN,
    { name: 'revoked_at', family: 'datetime', type: sql`Nullable(DateTime)`, role: 'optional', nullable: true, legacy: true },
  ],
};

/**
 * When each key was last used, written by this gateway at most once a minute per key. Kept apart
 * from the key rows: a late write of a whole key row could bring a revoked key back.
 */
export const MCP_API_KEY_LAST_USED_TABLE: TableSpec = {
  name: 'mcp_api_key_last_used',
  owner: 'this gateway',
  engine: sql`ReplacingMergeTree(last_used_at)`,
  orderBy: sql`api_key_id`,
  acceptedEngines: REPLACING_ENGINES,
  columns: [
    { name: 'api_key_id', family: 'string', type: sql`String`, role: 'required' },
    { name: 'last_used_at', family: 'datetime', type: sql`DateTime`, role: 'required' },
  ],
};

/**
 * The keys again, sorted by api_key_hash, so that checking a key a stranger sends reads a few
 * granules (O(log n)) instead of scanning mcp_api_keys, which is sorted by user. A materialized
 * view copies every row either service inserts into mcp_api_keys; `ver` orders versions like the
 * source table's version column, a revoke winning a tie.
 */
export const MCP_API_KEY_HASHES_TABLE: TableSpec = {
  name: 'mcp_api_key_hashes',
  owner: 'this gateway',
  engine: sql`ReplacingMergeTree(ver)`,
  orderBy: sql`(api_key_hash, id)`,
  acceptedEngines: REPLACING_ENGINES,
  columns: [
    { name: 'api_key_hash', family: 'string', type: sql`String`, role: 'required' },
    { name: 'id', family: 'string', type: sql`String`, role: 'required' },
    { name: 'user_id', family: 'string', type: sql`String`, role: 'required' },
    { name: 'is_active', family: 'integer', type: sql`UInt8`, role: 'required' },
    { name: 'expires_at', family: 'datetime', type: sql`Nullable(DateTime)`, role: 'required', nullable: true },
    { name: 'ver', family: 'integer', type: sql`UInt64`, role: 'required' },
  ],
};

export const MCP_API_KEY_HASHES_VIEW = 'mcp_api_key_hashes_mv';
