import { MERGE_TREE_ENGINES, type TableSpec } from '../clickhouse/schema/table-spec.js';
import { sql } from '../clickhouse/sql.js';

/**
 * One row per tool call, in the original stock data service's shape (modules/mcp_usage/schema.sql),
 * so both services log to and read from one table. Sorted by (user_id, created_at, id): a user's
 * history reads only that user's granules. The engine need not deduplicate: the usage writer
 * stores each record exactly once (it checks what landed before it resends).
 */
export const USAGE_LOG_TABLE: TableSpec = {
  name: 'mcp_tool_usage_log',
  owner: 'the original stock data service',
  engine: sql`MergeTree()`,
  partitionBy: sql`toYYYYMM(created_at)`,
  orderBy: sql`(user_id, created_at, id)`,
  acceptedEngines: MERGE_TREE_ENGINES,
  columns: [
    { name: 'id', family: 'string', type: sql`String`, role: 'required' },
    { name: 'user_id', family: 'string', type: sql`String`, role: 'required' },
    { name: 'api_key_id', family: 'string', type: sql`String`, role: 'required', default: sql`''` },
    { name: 'tool_name', family: 'string', type: sql`String`, role: 'required' },
    { name: 'service_prefix', family: 'string', type: sql`String`, role: 'added', default: sql`''` },
    { name: 'table_name', family: 'string', type: sql`String`, role: 'required', default: sql`''` },
    { name: 'arguments', family: 'string', type: sql`String`, role: 'required', default: sql`''` },
    { name: 'record_count', family: 'integer', type: sql`Int64`, role: 'required', default: sql`0` },
    { name: 'duration_ms', family: 'integer', type: sql`Int64`, role: 'required', default: sql`0` },
    { name: 'is_error', family: 'integer', type: sql`UInt8`, role: 'required', default: sql`0` },
    { name: 'error_message', family: 'string', type: sql`String`, role: 'required', default: sql`''` },
    { name: 'created_at', family: 'datetime', type: sql`DateTime`, role: 'required', default: sql`now()` },
  ],
};
