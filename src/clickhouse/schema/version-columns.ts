import { sql } from '../sql.js';
import type { ColumnSpec } from './table-spec.js';

/**
 * The version columns of the original's ReplacingMergeTree(updated_at) tables (users,
 * mcp_api_keys), as this gateway adopts them from either shape.
 */

/** The original's version column; added to this gateway's first shapes, filled from created_at. */
export const UPDATED_AT_COLUMN: ColumnSpec = {
  name: 'updated_at',
  family: 'datetime',
  type: sql`DateTime`,
  role: 'added',
  default: sql`now()`,
  addDefault: (columns) => (columns.has('created_at') ? sql`created_at` : undefined),
};

/**
 * The version column of this gateway's first shapes (microseconds), written while it exists. The
 * original writes rows without it, so it gets a DEFAULT from their updated_at: the newest change
 * still wins, whichever service made it.
 */
export const LEGACY_VERSION_COLUMN: ColumnSpec = {
  name: 'version',
  family: 'integer',
  type: sql`UInt64`,
  role: 'optional',
  legacy: true,
  ensureDefault: () => sql`toUInt64(toUnixTimestamp(updated_at)) * 1000000`,
};
