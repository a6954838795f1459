import type { Sql } from './sql.js';

/** One step of the schema. Statements must be idempotent (IF NOT EXISTS) so a half-applied step can rerun. */
export interface Migration {
  version: number;
  name: string;
  statements: Sql[];
}
