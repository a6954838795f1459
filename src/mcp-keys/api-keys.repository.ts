import { Injectable } from '@nestjs/common';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { fromUnixSeconds, fromUnixSecondsOrNull, unixSeconds, unixSecondsOrNull } from '../clickhouse/datetime.js';
import { nextRowVersion } from '../clickhouse/row-version.js';
import { SchemaService } from '../clickhouse/schema/schema.service.js';
import { type AdoptedTable, existingColumnsOnly } from '../clickhouse/schema/table-spec.js';
import { type Sql, ident, int, sql, str } from '../clickhouse/sql.js';
import type { ApiKey, KeyVerdict } from './api-key.js';
import { MCP_API_KEY_HASHES_TABLE, MCP_API_KEY_HASHES_VIEW, MCP_API_KEY_LAST_USED_TABLE, MCP_API_KEYS_TABLE } from './api-keys.table.js';

interface ApiKeyRow {
  id: string;
  user_id: string;
  key_name: string;
  api_key_hash: string;
  api_key_prefix: string;
  is_active: number;
  expires_at: number | null;
  created_at: number;
  updated_at: number;
  last_used_at: number | null;
}

const toApiKey = (row: ApiKeyRow): ApiKey => ({
  id: row.id,
  userId: row.user_id,
  keyName: row.key_name,
  keyHash: row.api_key_hash,
  prefix: row.api_key_prefix,
  isActive: Number(row.is_active) === 1,
  expiresAt: fromUnixSecondsOrNull(row.expires_at),
  createdAt: fromUnixSeconds(row.created_at),
  updatedAt: fromUnixSeconds(row.updated_at),
});

export interface ApiKeyWithUsage extends ApiKey {
  lastUsedAt: Date | null;
}

/**
 * `mcp_api_keys`, shared with the original service (keys either creates work in both), plus this
 * gateway's last-used table and the hash index (a materialized view sorted by api_key_hash) that
 * makes checking a key cheap however many keys there are.
 */
@Injectable()
export class ApiKeysRepository {
  constructor(
    private readonly clickhouse: ClickHouseService,
    private readonly schema: SchemaService,
  ) {
    schema.register(MCP_API_KEYS_TABLE);
    schema.register(MCP_API_KEY_LAST_USED_TABLE);
    schema.register(MCP_API_KEY_HASHES_TABLE, () => this.ensureHashIndex());
  }

  /** Inserts a key, or a change (a revoke) as the row's next version; updatedAt must be later than the previous one's. */
  async save(key: ApiKey): Promise<void> {
    const row = {
      id: key.id,
      user_id: key.userId,
      key_name: key.keyName,
      api_key_hash: key.keyHash,
      api_key_prefix: key.prefix,
      is_active: key.isActive ? 1 : 0,
      expires_at: unixSecondsOrNull(key.expiresAt),
      created_at: unixSeconds(key.createdAt),
      updated_at: unixSeconds(key.updatedAt),
      key_hash: key.keyHash,
      version: nextRowVersion(),
      revoked_at: key.isActive ? null : unixSeconds(key.updatedAt),
    };
    await this.clickhouse.insert(MCP_API_KEYS_TABLE.name, [existingColumnsOnly(this.keysTable(), row)]);
  }

  /**
   * The key with this hash, from the hash index: a primary-key read, whoever created the key. The
   * newest `ver` is the answer FINAL would give, so unmerged versions need no FINAL.
   */
  async findByHash(keyHash: string): Promise<KeyVerdict | undefined> {
    const [row] = await this.clickhouse.query<{ id: string; user_id: string; is_active: number; expires_at: number | null }>(sql`
      SELECT id, user_id, is_active, toUnixTimestamp(expires_at) AS expires_at
      FROM mcp_api_key_hashes
      WHERE api_key_hash = ${str(keyHash)}
      ORDER BY ver DESC
      LIMIT 1`);
    return row && { id: row.id, userId: row.user_id, isActive: Number(row.is_active) === 1, expiresAt: fromUnixSecondsOrNull(row.expires_at) };
  }

  findOwned(userId: string, keyId: string): Promise<ApiKey | undefined> {
    return this.findOne(sql`user_id = ${str(userId)} AND id = ${str(keyId)}`);
  }

  /** A key whoever owns it (administrators): a scan of mcp_api_keys, which is sorted by user, fine for a rare action. */
  findById(keyId: string): Promise<ApiKey | undefined> {
    return this.findOne(sql`id = ${str(keyId)}`);
  }

  /** The user's keys, newest first, with when each was last used (by either service). */
  async listForUser(userId: string): Promise<ApiKeyWithUsage[]> {
    const [rows, lastUsed] = await Promise.all([this.select(sql`user_id = ${str(userId)}`), this.lastUsedOf(userId)]);
    return rows.map((row) => {
      const used = Math.max(Number(row.last_used_at ?? 0), lastUsed.get(row.id) ?? 0);
      return { ...toApiKey(row), lastUsedAt: used > 0 ? fromUnixSeconds(used) : null };
    });
  }

  /**
   * Keys written in the last `seconds` (by the ClickHouse server's clock), by either service: revoked or rewritten ones (`changed`),
   * which other instances may still trust, and new ones (updated_at = created_at), which one of
   * them may have refused a moment before the row reached its replica.
   */
  async changedWithin(seconds: number): Promise<{ id: string; keyHash: string; changed: boolean }[]> {
    const rows = await this.clickhouse.query<{ id: string; api_key_hash: string; changed: number }>(sql`
      SELECT id, api_key_hash, max(updated_at > created_at) AS changed FROM mcp_api_keys WHERE updated_at >= now() - ${int(seconds)} GROUP BY id, api_key_hash`);
    return rows.map((row) => ({ id: row.id, keyHash: row.api_key_hash, changed: Number(row.changed) === 1 }));
  }

  async recordLastUsed(keyId: string, at: Date): Promise<void> {
    await this.clickhouse.insert(MCP_API_KEY_LAST_USED_TABLE.name, [{ api_key_id: keyId, last_used_at: unixSeconds(at) }]);
  }

  private keysTable(): AdoptedTable {
    return this.schema.table(MCP_API_KEYS_TABLE.name);
  }

  private async findOne(condition: Sql): Promise<ApiKey | undefined> {
    const [row] = await this.select(condition);
    return row ? toApiKey(row) : undefined;
  }

  private select(condition: Sql): Promise<ApiKeyRow[]> {
    // The original's own last-used writes land in the key row; older shapes have no such column.
    const lastUsed = this.keysTable().columns.has('last_used_at') ? sql`toUnixTimestamp(last_used_at)` : sql`NULL`;
    return this.clickhouse.query<ApiKeyRow>(sql`
      SELECT id, user_id, key_name, api_key_hash, api_key_prefix, is_active,
        toUnixTimestamp(expires_at) AS expires_at, toUnixTimestamp(created_at) AS created_at,
        toUnixTimestamp(updated_at) AS updated_at, ${lastUsed} AS last_used_at
      FROM mcp_api_keys FINAL
      WHERE ${condition}
      ORDER BY created_at DESC, id DESC`);
  }

  private async lastUsedOf(userId: string): Promise<Map<string, number>> {
    const rows = await this.clickhouse.query<{ api_key_id: string; last_used_at: number }>(sql`
      SELECT api_key_id, max(toUnixTimestamp(last_used_at)) AS last_used_at
      FROM mcp_api_key_last_used
      WHERE api_key_id IN (SELECT id FROM mcp_api_keys WHERE user_id = ${str(userId)})
      GROUP BY api_key_id`);
    return new Map(rows.map((row) => [row.api_key_id, Number(row.last_used_at)]));
  }

  /**
   * Creates the view that copies every insert into mcp_api_keys to the hash index (once), then
   * copies every row of mcp_api_keys (at each start): rows in both copies collapse (same key, same
   * version), so an earlier start cut short between the two steps cannot leave keys out.
   */
  private async ensureHashIndex(): Promise<void> {
    const selection = this.hashIndexSelection();
    // ON CLUSTER: a view on each replica copies the inserts that replica receives (once, then replicated).
    await this.clickhouse.command(
      sql`CREATE MATERIALIZED VIEW IF NOT EXISTS ${this.clickhouse.qualified(MCP_API_KEY_HASHES_VIEW)} ${this.clickhouse.onCluster()} TO ${this.clickhouse.qualified(MCP_API_KEY_HASHES_TABLE.name)} AS ${selection}`,
    );
    await this.clickhouse.command(sql`INSERT INTO mcp_api_key_hashes ${selection}`);
  }

  /**
   * Rows for the hash index, cast to its exact types (an adopted table may use Int8, LowCardinality
   * or another integer width, and a view that does not match would fail the other service's
   * inserts too). A key's versions order like the source table's version column.
   */
  private hashIndexSelection(): Sql {
    const { versionColumn, columns } = this.keysTable();
    const order = versionColumn && columns.get(versionColumn)?.startsWith('DateTime') ? sql`toUnixTimestamp(${ident(versionColumn)})` : versionColumn ? ident(versionColumn) : int(0);
    return sql`SELECT CAST(api_key_hash AS String) AS api_key_hash, CAST(id AS String) AS id, CAST(user_id AS String) AS user_id,
      toUInt8(is_active) AS is_active, CAST(expires_at AS Nullable(DateTime)) AS expires_at,
      toUInt64(toUInt64(${order}) * 2 + (1 - toUInt8(is_active))) AS ver
      FROM ${this.clickhouse.qualified(MCP_API_KEYS_TABLE.name)}`;
  }
}
