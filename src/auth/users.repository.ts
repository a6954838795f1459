import { Injectable } from '@nestjs/common';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { fromUnixSeconds, unixSeconds } from '../clickhouse/datetime.js';
import { nextRowVersion } from '../clickhouse/row-version.js';
import { SchemaService } from '../clickhouse/schema/schema.service.js';
import { existingColumnsOnly } from '../clickhouse/schema/table-spec.js';
import { type Sql, int, join, sql, str } from '../clickhouse/sql.js';
import type { User } from './user.js';
import { USERS_TABLE } from './users.table.js';

interface UserRow {
  id: string;
  email: string;
  username: string;
  password_hash: string;
  is_active: number;
  is_admin: number;
  subscription_tier: string;
  created_at: number;
  updated_at: number;
}

const USER_COLUMNS = sql`id, email, username, password_hash, is_active, is_admin, subscription_tier,
  toUnixTimestamp(created_at) AS created_at, toUnixTimestamp(updated_at) AS updated_at`;

const toUser = (row: UserRow): User => ({
  id: row.id,
  email: row.email,
  username: row.username,
  passwordHash: row.password_hash,
  isActive: Number(row.is_active) === 1,
  isAdmin: Number(row.is_admin) === 1,
  subscriptionTier: row.subscription_tier || 'free',
  createdAt: fromUnixSeconds(row.created_at),
  updatedAt: fromUnixSeconds(row.updated_at),
});

/** An email may have several accounts over time (the original re-registers disabled ones): the active, oldest one first. */
const ACCOUNT_PREFERENCE = sql`is_active DESC, created_at, id`;

/**
 * Rows whose `email` column is this normalized email. The original service stores emails as typed
 * (pydantic lower-cases the domain only), so a row in another case or with surrounding spaces
 * matches too: lowerUTF8, and replaceRegexpAll for the trim (18.16 has no trimBoth). NFKC has no SQL counterpart, so
 * a legacy row spelled with full-width or other compatibility characters is not found by its plain
 * form. A function of `email` cannot use the (email, id) sort key: each lookup scans the users
 * table, which is one row per account and small; the exact match stays first for the common case.
 */
export const emailMatches = (normalized: string) =>
  sql`(email = ${str(normalized)} OR lowerUTF8(replaceRegexpAll(email, '^[[:space:]]+|[[:space:]]+$', '')) = ${str(normalized)})`;

/**
 * The `users` table, shared with the original service: rows it wrote are read as they are
 * (passlib bcrypt hashes, local-time timestamps read as instants), and rows written here are in
 * its column set, so it reads them too.
 */
@Injectable()
export class UsersRepository {
  constructor(
    private readonly clickhouse: ClickHouseService,
    private readonly schema: SchemaService,
  ) {
    schema.register(USERS_TABLE);
  }

  /** An account a JWT, key or administrator names: it exists, though perhaps only on another replica yet. */
  findById(id: string): Promise<User | undefined> {
    return this.clickhouse.lookUpRecent(() => this.findOne(sql`id = ${str(id)}`));
  }

  /** The account of a normalized email (see normalizeEmail), however its row spells it. */
  findByEmail(email: string): Promise<User | undefined> {
    return this.findOne(emailMatches(email));
  }

  /** Every account of a normalized email, however its row spells it; the one findByEmail picks first. */
  async findAllByEmail(email: string): Promise<User[]> {
    const rows = await this.clickhouse.query<UserRow>(sql`SELECT ${USER_COLUMNS} FROM users FINAL WHERE ${emailMatches(email)} ORDER BY ${ACCOUNT_PREFERENCE}`);
    return rows.map(toUser);
  }

  /**
   * The account someone signs in to, perhaps registered a moment ago through another replica; as
   * long to find whether or not it exists (login attempts must not tell which emails have accounts).
   */
  findToSignIn(email: string): Promise<User | undefined> {
    return this.clickhouse.lookUpEvenly(() => this.findByEmail(email));
  }

  /** Every account, newest first (for administrators). */
  async page(limit: number, offset: number): Promise<User[]> {
    const rows = await this.clickhouse.query<UserRow>(sql`
      SELECT ${USER_COLUMNS}
      FROM users FINAL
      ORDER BY created_at DESC, id DESC
      LIMIT ${int(offset)}, ${int(limit)}`);
    return rows.map(toUser);
  }

  /** Every administrator account, oldest first (for `npm run admin -- list`). */
  async admins(): Promise<User[]> {
    const rows = await this.clickhouse.query<UserRow>(sql`SELECT ${USER_COLUMNS} FROM users FINAL WHERE is_admin = 1 ORDER BY created_at, id`);
    return rows.map(toUser);
  }

  /** Accounts changed (disabled, enabled, edited, by either service) in the last `seconds` (by the ClickHouse server's clock); a new account's first row is no change. */
  async changedWithin(seconds: number): Promise<string[]> {
    const rows = await this.clickhouse.query<{ id: string }>(sql`SELECT DISTINCT id FROM users WHERE updated_at >= now() - ${int(seconds)} AND updated_at > created_at`);
    return rows.map((row) => row.id);
  }

  async count(): Promise<number> {
    const [row] = await this.clickhouse.query<{ total: string }>(sql`SELECT count() AS total FROM users FINAL`);
    return Number(row.total);
  }

  /** The email of each of these accounts that exists. */
  async emailsOf(ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.clickhouse.query<{ id: string; email: string }>(sql`
      SELECT id, any(email) AS email
      FROM users FINAL
      WHERE id IN (${join(ids.map(str), ', ')})
      GROUP BY id`);
    return new Map(rows.map((row) => [row.id, row.email]));
  }

  /** Inserts a user, or a change as the row's next version (updated_at must be later than the previous one's). */
  async save(user: User): Promise<void> {
    const table = this.schema.table(USERS_TABLE.name);
    const row = {
      id: user.id,
      email: user.email,
      username: user.username,
      password_hash: user.passwordHash,
      is_active: user.isActive ? 1 : 0,
      is_admin: user.isAdmin ? 1 : 0,
      subscription_tier: user.subscriptionTier,
      created_at: unixSeconds(user.createdAt),
      updated_at: unixSeconds(user.updatedAt),
      version: nextRowVersion(),
    };
    await this.clickhouse.insert(USERS_TABLE.name, [existingColumnsOnly(table, row)]);
  }

  private async findOne(condition: Sql): Promise<User | undefined> {
    const [row] = await this.clickhouse.query<UserRow>(sql`
      SELECT ${USER_COLUMNS}
      FROM users FINAL
      WHERE ${condition}
      ORDER BY ${ACCOUNT_PREFERENCE}
      LIMIT 1`);
    return row ? toUser(row) : undefined;
  }
}
