import type { Migration } from '../migration.js';
import { sql } from '../sql.js';

/** Users are mutable rows: each change inserts a new version, and reads use FINAL (like the original system). */
export const createUsers: Migration = {
  version: 1,
  name: 'create users',
  statements: [
    sql`CREATE TABLE IF NOT EXISTS users (
      id String,
      email String,
      username String,
      password_hash String,
      is_active UInt8,
      is_admin UInt8,
      created_at DateTime('UTC'),
      updated_at DateTime('UTC'),
      version UInt64
    ) ENGINE = ReplacingMergeTree(version)
    ORDER BY id`,
  ],
};
