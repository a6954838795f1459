import { Injectable } from '@nestjs/common';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { fromUnixSeconds, unixSeconds } from '../clickhouse/datetime.js';
import { nextRowVersion } from '../clickhouse/row-version.js';
import { SchemaService } from '../clickhouse/schema/schema.service.js';
import { sql, str } from '../clickhouse/sql.js';
import { hashApiKey } from '../mcp-keys/api-key.js';
import { MCP_OAUTH_TOKENS_TABLE } from './oauth.tables.js';
import type { OAuthTokenKind } from './oauth-tokens.js';

/** One code or token as stored (by hash). */
export interface StoredOAuthToken {
  kind: OAuthTokenKind;
  clientId: string;
  userId: string;
  /** The key the sign-in created; '' for a code not redeemed yet. */
  keyId: string;
  codeChallenge: string;
  redirectUri: string;
  /** The MCP endpoint (RFC 8707 resource) the token is for; '' for rows from before audiences: this server. */
  audience: string;
  expiresAt: Date;
  revoked: boolean;
  /** This version's `ver` (microseconds since the epoch when written); 0 before it is saved. */
  ver: number;
}

interface TokenRow {
  kind: string;
  client_id: string;
  user_id: string;
  key_id: string;
  code_challenge: string;
  redirect_uri: string;
  audience: string;
  expires_at: number | string;
  revoked: number | string;
  ver: number | string;
}

/** `mcp_oauth_tokens`: codes and tokens by the SHA-256 of their text, the newest version winning. */
@Injectable()
export class OAuthTokensRepository {
  constructor(
    private readonly clickhouse: ClickHouseService,
    schema: SchemaService,
  ) {
    schema.register(MCP_OAUTH_TOKENS_TABLE);
  }

  /** Stores a new token (or code) under the hash of `token`. */
  async save(token: string, stored: Omit<StoredOAuthToken, 'ver'>): Promise<void> {
    await this.clickhouse.insert(MCP_OAUTH_TOKENS_TABLE.name, [toRow(hashApiKey(token), { ...stored, ver: nextRowVersion() })]);
  }

  /**
   * Marks a token used or revoked (its next version), keeping what it was; `keyId` records what a
   * redeemed code created. The version is later than the one read even when this instance's clock
   * is behind the one that wrote it, so the revoke always wins.
   */
  async revoke(tokenHash: string, stored: StoredOAuthToken, keyId = stored.keyId): Promise<void> {
    const ver = Math.max(nextRowVersion(), stored.ver + 1);
    await this.clickhouse.insert(MCP_OAUTH_TOKENS_TABLE.name, [toRow(tokenHash, { ...stored, keyId, revoked: true, ver })]);
  }

  /**
   * Deletes the codes and tokens that expired more than a day ago (every version of each: they
   * are refused anyway), as one mutation when there are any; answers how many codes and tokens it
   * deletes (not rows: how many versions of one are left depends on background merges).
   * ClickHouse 18.16 has no table TTL. A Replicated table passes the mutation to its replicas.
   */
  async pruneExpired(): Promise<number> {
    const expired = sql`expires_at < now() - INTERVAL 1 DAY`;
    const [row] = await this.clickhouse.query<{ n: string }>(sql`SELECT uniqExact(token_hash) AS n FROM mcp_oauth_tokens WHERE ${expired}`);
    const tokens = Number(row.n);
    if (tokens > 0) await this.clickhouse.command(sql`ALTER TABLE mcp_oauth_tokens DELETE WHERE ${expired}`);
    return tokens;
  }

  /**
   * A code or token a client presents: clients use one the moment it is issued, maybe through
   * another gateway and replica, so a miss is asked again after the replication grace.
   */
  findIssued(tokenHash: string): Promise<StoredOAuthToken | undefined> {
    return this.clickhouse.lookUpRecent(() => this.find(tokenHash));
  }

  /** The newest version of the token with this hash (revoked or expired ones too: callers decide). */
  async find(tokenHash: string): Promise<StoredOAuthToken | undefined> {
    const [row] = await this.clickhouse.query<TokenRow>(sql`
      SELECT kind, client_id, user_id, key_id, code_challenge, redirect_uri, audience, toUnixTimestamp(expires_at) AS expires_at, revoked, ver
      FROM mcp_oauth_tokens
      WHERE token_hash = ${str(tokenHash)}
      ORDER BY ver DESC
      LIMIT 1`);
    return row && fromRow(row);
  }
}

const toRow = (tokenHash: string, token: StoredOAuthToken) => ({
  token_hash: tokenHash,
  kind: token.kind,
  client_id: token.clientId,
  user_id: token.userId,
  key_id: token.keyId,
  code_challenge: token.codeChallenge,
  redirect_uri: token.redirectUri,
  audience: token.audience,
  expires_at: unixSeconds(token.expiresAt),
  revoked: token.revoked ? 1 : 0,
  ver: token.ver,
});

const fromRow = (row: TokenRow): StoredOAuthToken => ({
  kind: row.kind as OAuthTokenKind,
  clientId: row.client_id,
  userId: row.user_id,
  keyId: row.key_id,
  codeChallenge: row.code_challenge,
  redirectUri: row.redirect_uri,
  audience: row.audience,
  expiresAt: fromUnixSeconds(row.expires_at),
  revoked: Number(row.revoked) === 1,
  ver: Number(row.ver),
});
