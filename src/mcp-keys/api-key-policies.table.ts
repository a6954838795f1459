import { REPLACING_ENGINES, type TableSpec } from '../clickhouse/schema/table-spec.js';
import { sql } from '../clickhouse/sql.js';

/**
 * Each key's policy (scopes, rate limit, quotas), one row per change, the newest `ver` winning.
 * Kept apart from mcp_api_keys: the original service rewrites whole key rows (a revoke, a last-used
 * update), which would drop columns it does not know. Scopes are JSON arrays of names ('[]': all).
 * `ceiling` is the policy an administrator last set (JSON; '' for none): owners may only tighten it.
 */
export const MCP_API_KEY_POLICIES_TABLE: TableSpec = {
  name: 'mcp_api_key_policies',
  owner: 'this gateway',
  engine: sql`ReplacingMergeTree(ver)`,
  orderBy: sql`key_id`,
  acceptedEngines: REPLACING_ENGINES,
  columns: [
    { name: 'key_id', family: 'string', type: sql`String`, role: 'required' },
    { name: 'user_id', family: 'string', type: sql`String`, role: 'required' },
    { name: 'tools', family: 'string', type: sql`String`, role: 'required', default: sql`'[]'` },
    { name: 'tables', family: 'string', type: sql`String`, role: 'required', default: sql`'[]'` },
    { name: 'calls_per_minute', family: 'integer', type: sql`Nullable(UInt32)`, role: 'required', nullable: 'required' },
    { name: 'records_per_day', family: 'integer', type: sql`Nullable(UInt64)`, role: 'required', nullable: 'required' },
    { name: 'records_per_month', family: 'integer', type: sql`Nullable(UInt64)`, role: 'required', nullable: 'required' },
    { name: 'calls_per_day', family: 'integer', type: sql`Nullable(UInt64)`, role: 'required', nullable: 'required' },
    { name: 'ceiling', family: 'string', type: sql`String`, role: 'required', default: sql`''` },
    { name: 'updated_by', family: 'string', type: sql`String`, role: 'required', default: sql`''` },
    { name: 'updated_at', family: 'datetime', type: sql`DateTime`, role: 'required', default: sql`now()` },
    { name: 'ver', family: 'integer', type: sql`UInt64`, role: 'required' },
  ],
};
