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
  expiresAt: Date;
  revoked: boolean;
}

interface TokenRow {
  kind: string;
  client_id: string;
  user_id: string;
  key_id: string;
  code_challenge: string;
  redirect_uri: string;
  expires_at: number | string;
  revoked: number | string;
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
  async save(token: string, stored: StoredOAuthToken): Promise<void> {
    await this.clickhouse.insert(MCP_OAUTH_TOKENS_TABLE.name, [toRow(hashApiKey(token), stored)]);
  }

  /** Marks a token used or revoked (its next version), keeping what it was; `keyId` records what a redeemed code created. */
  async revoke(tokenHash: string, stored: StoredOAuthToken, keyId = stored.keyId): Promise<void> {
    await this.clickhouse.insert(MCP_OAUTH_TOKENS_TABLE.name, [toRow(tokenHash, { ...stored, keyId, revoked: true })]);
  }

  /** The newest version of the token with this hash (revoked or expired ones too: callers decide). */
  async find(tokenHash: string): Promise<StoredOAuthToken | undefined> {
    const [row] = await this.clickhouse.query<TokenRow>(sql`
      SELECT kind, client_id, user_id, key_id, code_challenge, redirect_uri, toUnixTimestamp(expires_at) AS expires_at, revoked
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
  expires_at: unixSeconds(token.expiresAt),
  revoked: token.revoked ? 1 : 0,
  ver: nextRowVersion(),
});

const fromRow = (row: TokenRow): StoredOAuthToken => ({
  kind: row.kind as OAuthTokenKind,
  clientId: row.client_id,
  userId: row.user_id,
  keyId: row.key_id,
  codeChallenge: row.code_challenge,
  redirectUri: row.redirect_uri,
  expiresAt: fromUnixSeconds(row.expires_at),
  revoked: Number(row.revoked) === 1,
});
