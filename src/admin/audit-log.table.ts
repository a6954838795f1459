import { MERGE_TREE_ENGINES, type TableSpec } from '../clickhouse/schema/table-spec.js';
import { sql } from '../clickhouse/sql.js';

/**
 * What administrators did, one row per mutating admin action, append-only. Ids are UUIDv7, so
 * (created_at, id) orders the actions of one second as they happened; partitions by month keep
 * old months cheap to archive or drop by hand (18.16 has no TTL).
 */
export const ADMIN_AUDIT_LOG_TABLE: TableSpec = {
  name: 'admin_audit_log',
  owner: 'this gateway',
  engine: sql`MergeTree()`,
  partitionBy: sql`toYYYYMM(created_at)`,
  orderBy: sql`(created_at, id)`,
  acceptedEngines: MERGE_TREE_ENGINES,
  columns: [
    { name: 'id', family: 'string', type: sql`String`, role: 'required' },
    { name: 'created_at', family: 'datetime', type: sql`DateTime`, role: 'required' },
    { name: 'admin_user_id', family: 'string', type: sql`String`, role: 'required' },
    { name: 'admin_email', family: 'string', type: sql`String`, role: 'required' },
    { name: 'action', family: 'string', type: sql`String`, role: 'required' },
    { name: 'target_type', family: 'string', type: sql`String`, role: 'required' },
    { name: 'target_id', family: 'string', type: sql`String`, role: 'required' },
    { name: 'details', family: 'string', type: sql`String`, role: 'required', default: sql`'{}'` },
  ],
};
