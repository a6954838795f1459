import type { Migration } from '../migration.js';
import { sql } from '../sql.js';

/**
 * API keys keep only a SHA-256 of the key. last_used_at lives in its own table so its frequent,
 * asynchronous writes can never resurrect a revoked key by re-inserting a stale full row.
 */
export const createMcpApiKeys: Migration = {
  version: 2,
  name: 'create mcp api keys',
  statements: [
    sql`CREATE TABLE IF NOT EXISTS mcp_api_keys (
      id String,
      user_id String,
      key_name String,
      key_hash String,
      api_key_prefix String,
      is_active UInt8,
      expires_at Nullable(DateTime('UTC')),
      created_at DateTime('UTC'),
      revoked_at Nullable(DateTime('UTC')),
      version UInt64
    ) ENGINE = ReplacingMergeTree(version)
    ORDER BY (user_id, id)`,
    sql`CREATE TABLE IF NOT EXISTS mcp_api_key_last_used (
      api_key_id String,
      last_used_at DateTime('UTC')
    ) ENGINE = ReplacingMergeTree(last_used_at)
    ORDER BY api_key_id`,
  ],
};
