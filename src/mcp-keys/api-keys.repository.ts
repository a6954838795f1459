import { Injectable } from '@nestjs/common';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { parseClickHouseDateTime } from '../clickhouse/datetime.js';
import { nextRowVersion } from '../clickhouse/row-version.js';
import { type Sql, formatDateTime, sql, str } from '../clickhouse/sql.js';
import type { ApiKey } from './api-key.js';

interface ApiKeyRow {
  id: string;
  user_id: string;
  key_name: string;
  key_hash: string;
  api_key_prefix: string;
  is_active: number;
  expires_at: string | null;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

const optionalDate = (value: string | null) => (value === null ? null : parseClickHouseDateTime(value));
const optionalText = (value: Date | null) => (value === null ? null : formatDateTime(value));

const toApiKey = (row: ApiKeyRow): ApiKey => ({
  id: row.id,
  userId: row.user_id,
  keyName: row.key_name,
  keyHash: row.key_hash,
  prefix: row.api_key_prefix,
  isActive: row.is_active === 1,
  expiresAt: optionalDate(row.expires_at),
  createdAt: parseClickHouseDateTime(row.created_at),
  revokedAt: optionalDate(row.revoked_at),
});

export interface ApiKeyWithUsage extends ApiKey {
  lastUsedAt: Date | null;
}

@Injectable()
export class ApiKeysRepository {
  constructor(private readonly clickhouse: ClickHouseService) {}

  /** Inserts or updates a key (a newer version of the same id replaces the old row). */
  async save(key: ApiKey): Promise<void> {
    await this.clickhouse.insert('mcp_api_keys', [
      {
        id: key.id,
        user_id: key.userId,
        key_name: key.keyName,
        key_hash: key.keyHash,
        api_key_prefix: key.prefix,
        is_active: key.isActive ? 1 : 0,
        expires_at: optionalText(key.expiresAt),
        created_at: formatDateTime(key.createdAt),
        revoked_at: optionalText(key.revokedAt),
        version: nextRowVersion(),
      },
    ]);
  }

  async findByHash(keyHash: string): Promise<ApiKey | undefined> {
    const [row] = await this.select(sql`key_hash = ${str(keyHash)}`);
    return row ? toApiKey(row) : undefined;
  }

  async findOwned(userId: string, keyId: string): Promise<ApiKey | undefined> {
    const [row] = await this.select(sql`user_id = ${str(userId)} AND id = ${str(keyId)}`);
    return row ? toApiKey(row) : undefined;
  }

  /** The user's keys, newest first, with when each was last used. */
  async listForUser(userId: string): Promise<ApiKeyWithUsage[]> {
    const rows = await this.select(sql`user_id = ${str(userId)}`);
    return rows.map((row) => ({ ...toApiKey(row), lastUsedAt: optionalDate(row.last_used_at) }));
  }

  async recordLastUsed(keyId: string, at: Date): Promise<void> {
    await this.clickhouse.insert('mcp_api_key_last_used', [{ api_key_id: keyId, last_used_at: formatDateTime(at) }]);
  }

  /** ANY LEFT JOIN with USING: the join form both ClickHouse 18.16 and current releases accept. */
  private select(condition: Sql): Promise<ApiKeyRow[]> {
    return this.clickhouse.query<ApiKeyRow>(sql`
      SELECT id, user_id, key_name, key_hash, api_key_prefix, is_active, expires_at, created_at, revoked_at, last_used_at
      FROM (SELECT * FROM mcp_api_keys FINAL WHERE ${condition})
      ANY LEFT JOIN (
        SELECT api_key_id AS id, toNullable(max(last_used_at)) AS last_used_at
        FROM mcp_api_key_last_used
        WHERE api_key_id IN (SELECT id FROM mcp_api_keys WHERE ${condition})
        GROUP BY api_key_id
      ) USING id
      ORDER BY created_at DESC, id DESC`);
  }
}
