import type { Sql } from '../sql.js';

/** The kind of value a column holds, whatever its exact ClickHouse type (UInt32 or Int64, String or LowCardinality(String)). */
export type ColumnFamily = 'string' | 'integer' | 'float' | 'date' | 'datetime';

/**
 * How the service relates to a column of a table it may not own:
 * - `required`: read or written; the service refuses to start without it.
 * - `added`: needed, but safe to add to an existing table (ALTER TABLE ... ADD COLUMN with `addDefault`).
 * - `optional`: used when present (a metric column, a column of an older shape), never added.
 */
export type ColumnRole = 'required' | 'added' | 'optional';

export interface ColumnSpec {
  name: string;
  family: ColumnFamily;
  /** The DDL type when this service creates the table or adds the column; LowCardinality(...) falls back to the inner type where the server lacks it. */
  type: Sql;
  role: ColumnRole;
  /** Whether a Nullable(...) column is fine (the code reads NULL); 'required' when the service writes NULL into it. */
  nullable?: boolean | 'required';
  /** DEFAULT expression in CREATE TABLE. */
  default?: Sql;
  /**
   * DEFAULT expression when adding the column to an existing table, given the columns it has: it
   * may derive the value from a column of an older shape (api_key_hash from key_hash).
   */
  addDefault?: (columns: ReadonlyMap<string, string>) => Sql | undefined;
  /** Left out of CREATE TABLE: a column of an older shape this service still reads. */
  legacy?: boolean;
  /**
   * A DEFAULT to give the existing column when it has none (ALTER TABLE ... MODIFY COLUMN: metadata
   * only, no data is rewritten). For a version column of an older shape, so that rows another
   * service writes without it still order by time.
   */
  ensureDefault?: (columns: ReadonlyMap<string, string>) => Sql | undefined;
}

export interface TableSpec {
  name: string;
  /** Who defines the shape, for messages ("the original stock data service", "this gateway"). */
  owner: string;
  columns: ColumnSpec[];
  /** ENGINE clause for CREATE TABLE, e.g. `ReplacingMergeTree(updated_at)`. */
  engine: Sql;
  orderBy: Sql;
  partitionBy?: Sql;
  /** Engines an existing table may have (system.tables.engine); the service's reads and writes rely on them. */
  acceptedEngines: readonly string[];
}

/** What the service found, and will use, for one table. */
export interface AdoptedTable {
  name: string;
  engine: string;
  /** The version column of a Replacing engine (`ReplacingMergeTree(updated_at)` → updated_at), if any. */
  versionColumn: string | undefined;
  /** Every column the table has now, with its ClickHouse type. */
  columns: Map<string, string>;
  created: boolean;
  /** Columns this start added or gave a default. */
  added: string[];
}

/** Engines that keep the newest version of a row (reads use FINAL or their version column). */
export const REPLACING_ENGINES = ['ReplacingMergeTree', 'ReplicatedReplacingMergeTree'] as const;
/** Any engine of the MergeTree family: rows are read as they are (deduplicated by the reader where needed). */
export const MERGE_TREE_ENGINES = ['MergeTree', 'ReplacingMergeTree', 'ReplicatedMergeTree', 'ReplicatedReplacingMergeTree'] as const;

/** A table that cannot be used as it is; the process exits 78 with this message. */
export class SchemaMismatchError extends Error {
  constructor(readonly problems: string[]) {
    super(`The database has tables this service cannot use:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'SchemaMismatchError';
  }
}

/** The values whose columns the adopted table has: older shapes lack some of what the service could write. */
export function existingColumnsOnly(table: AdoptedTable, values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([column]) => table.columns.has(column)));
}
