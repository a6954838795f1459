import { REPLACING_ENGINES, type TableSpec } from '../clickhouse/schema/table-spec.js';
import { sql } from '../clickhouse/sql.js';

/**
 * MCP clients registered through dynamic client registration (RFC 7591): the client's metadata as
 * JSON, as the SDK's handlers read it back. Registered clients are public (PKCE, no secret). Each
 * sign-in adds a copy of the client's row with `signed_in` = 1 and the same `created_at`, which
 * wins a merge (of equal versions ReplacingMergeTree keeps the last inserted); a client without
 * one is deleted OAUTH_UNUSED_CLIENT_TTL_HOURS after registering.
 */
export const MCP_OAUTH_CLIENTS_TABLE: TableSpec = {
  name: 'mcp_oauth_clients',
  owner: 'this gateway',
  engine: sql`ReplacingMergeTree(created_at)`,
  orderBy: sql`client_id`,
  acceptedEngines: REPLACING_ENGINES,
  columns: [
    { name: 'client_id', family: 'string', type: sql`String`, role: 'required' },
    { name: 'client_name', family: 'string', type: sql`String`, role: 'required', default: sql`''` },
    { name: 'metadata', family: 'string', type: sql`String`, role: 'required' },
    { name: 'created_at', family: 'datetime', type: sql`DateTime`, role: 'required', default: sql`now()` },
    // Clients registered before this column existed may have been used: they count as signed in, never pruned.
    { name: 'signed_in', family: 'integer', type: sql`UInt8`, role: 'added', default: sql`0`, addDefault: () => sql`1` },
  ],
};

/**
 * Authorization codes, access tokens and refresh tokens, by the SHA-256 of the token: the tokens
 * themselves are never stored. A use (a code redeemed, a refresh token rotated) or a revoke is
 * the token's next row with `revoked` = 1; the newest `ver` wins. `key_id` is the API key the
 * sign-in created ('' for a code not redeemed yet), so every token is metered, scoped and revoked
 * as that key.
 */
export const MCP_OAUTH_TOKENS_TABLE: TableSpec = {
  name: 'mcp_oauth_tokens',
  owner: 'this gateway',
  engine: sql`ReplacingMergeTree(ver)`,
  orderBy: sql`token_hash`,
  acceptedEngines: REPLACING_ENGINES,
  columns: [
    { name: 'token_hash', family: 'string', type: sql`String`, role: 'required' },
    { name: 'kind', family: 'string', type: sql`String`, role: 'required' },
    { name: 'client_id', family: 'string', type: sql`String`, role: 'required' },
    { name: 'user_id', family: 'string', type: sql`String`, role: 'required' },
    { name: 'key_id', family: 'string', type: sql`String`, role: 'required', default: sql`''` },
    { name: 'code_challenge', family: 'string', type: sql`String`, role: 'required', default: sql`''` },
    { name: 'redirect_uri', family: 'string', type: sql`String`, role: 'required', default: sql`''` },
    // The resource (RFC 8707) the sign-in is for; '' (rows from before audiences) is this server.
    { name: 'audience', family: 'string', type: sql`String`, role: 'added', default: sql`''` },
    { name: 'expires_at', family: 'datetime', type: sql`DateTime`, role: 'required' },
    { name: 'revoked', family: 'integer', type: sql`UInt8`, role: 'required', default: sql`0` },
    { name: 'ver', family: 'integer', type: sql`UInt64`, role: 'required' },
  ],
};
