import { REPLACING_ENGINES, type TableSpec } from '../clickhouse/schema/table-spec.js';
import { sql } from '../clickhouse/sql.js';
import { LEGACY_VERSION_COLUMN, UPDATED_AT_COLUMN } from '../clickhouse/schema/version-columns.js';

/**
 * Accounts, in the original stock data service's shape (modules/auth/schema.sql), so both
 * services can share one database. Each change is a new row with a newer updated_at; reads use
 * FINAL. `version` is this gateway's older version column, written while it exists.
 */
export const USERS_TABLE: TableSpec = {
  name: 'users',
  owner: 'the original stock data service',
  engine: sql`ReplacingMergeTree(updated_at)`,
  orderBy: sql`(email, id)`,
  acceptedEngines: REPLACING_ENGINES,
  columns: [
    { name: 'id', family: 'string', type: sql`String`, role: 'required' },
    { name: 'email', family: 'string', type: sql`String`, role: 'required' },
    { name: 'username', family: 'string', type: sql`String`, role: 'required' },
    { name: 'password_hash', family: 'string', type: sql`String`, role: 'required' },
    { name: 'is_active', family: 'integer', type: sql`UInt8`, role: 'required', default: sql`1` },
    { name: 'is_admin', family: 'integer', type: sql`UInt8`, role: 'required', default: sql`0` },
    { name: 'subscription_tier', family: 'string', type: sql`String`, role: 'added', default: sql`'free'` },
    { name: 'created_at', family: 'datetime', type: sql`DateTime`, role: 'required', default: sql`now()` },
    UPDATED_AT_COLUMN,
    LEGACY_VERSION_COLUMN,
  ],
};

/** The original's allow-list of emails that may register (used when AUTH_EMAIL_WHITELIST_ENABLED). */
export const EMAIL_WHITELIST_TABLE: TableSpec = {
  name: 'email_whitelist',
  owner: 'the original stock data service',
  engine: sql`ReplacingMergeTree(created_at)`,
  orderBy: sql`(email, id)`,
  acceptedEngines: REPLACING_ENGINES,
  columns: [
    { name: 'id', family: 'string', type: sql`String`, role: 'required' },
    { name: 'email', family: 'string', type: sql`String`, role: 'required' },
    { name: 'added_by', family: 'string', type: sql`String`, role: 'optional', default: sql`'system'` },
    { name: 'is_active', family: 'integer', type: sql`UInt8`, role: 'required', default: sql`1` },
    { name: 'created_at', family: 'datetime', type: sql`DateTime`, role: 'required', default: sql`now()` },
  ],
};
