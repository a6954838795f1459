import { Injectable } from '@nestjs/common';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { parseClickHouseDateTime } from '../clickhouse/datetime.js';
import { nextRowVersion } from '../clickhouse/row-version.js';
import { type Sql, formatDateTime, sql, str } from '../clickhouse/sql.js';
import type { User } from './user.js';

interface UserRow {
  id: string;
  email: string;
  username: string;
  password_hash: string;
  is_active: number;
  is_admin: number;
  created_at: string;
  updated_at: string;
}

const toUser = (row: UserRow): User => ({
  id: row.id,
  email: row.email,
  username: row.username,
  passwordHash: row.password_hash,
  isActive: row.is_active === 1,
  isAdmin: row.is_admin === 1,
  createdAt: parseClickHouseDateTime(row.created_at),
  updatedAt: parseClickHouseDateTime(row.updated_at),
});

@Injectable()
export class UsersRepository {
  constructor(private readonly clickhouse: ClickHouseService) {}

  findById(id: string): Promise<User | undefined> {
    return this.findOne(sql`id = ${str(id)}`);
  }

  findByEmail(email: string): Promise<User | undefined> {
    return this.findOne(sql`email = ${str(email)}`);
  }

  /** Inserts or updates (a newer version of the same id replaces the old row). */
  async save(user: User): Promise<void> {
    await this.clickhouse.insert('users', [
      {
        id: user.id,
        email: user.email,
        username: user.username,
        password_hash: user.passwordHash,
        is_active: user.isActive ? 1 : 0,
        is_admin: user.isAdmin ? 1 : 0,
        created_at: formatDateTime(user.createdAt),
        updated_at: formatDateTime(user.updatedAt),
        version: nextRowVersion(),
      },
    ]);
  }

  private async findOne(condition: Sql): Promise<User | undefined> {
    const [row] = await this.clickhouse.query<UserRow>(sql`
      SELECT id, email, username, password_hash, is_active, is_admin, created_at, updated_at
      FROM users FINAL
      WHERE ${condition}
      ORDER BY created_at
      LIMIT 1`);
    return row ? toUser(row) : undefined;
  }
}
