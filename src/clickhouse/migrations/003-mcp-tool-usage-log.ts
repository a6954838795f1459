import type { Migration } from '../migration.js';
import { sql } from '../sql.js';

/**
 * One row per tool call. Sorted by (user_id, created_at, id) so a user's time range reads only
 * its own granules. ReplacingMergeTree on that key makes a retried batch idempotent: a batch
 * whose insert timed out but landed, then was sent again, collapses to one row per id (reads use
 * one row per id, so the duplicate is never counted, even before the merge).
 */
export const createMcpToolUsageLog: Migration = {
  version: 3,
  name: 'create mcp tool usage log',
  statements: [
    sql`CREATE TABLE IF NOT EXISTS mcp_tool_usage_log (
      id String,
      user_id String,
      api_key_id String,
      tool_name String,
      table_name String,
      arguments String,
      record_count UInt32,
      duration_ms UInt32,
      is_error UInt8,
      error_message String,
      created_at DateTime('UTC')
    ) ENGINE = ReplacingMergeTree
    PARTITION BY toYYYYMM(created_at)
    ORDER BY (user_id, created_at, id)`,
  ],
};
