import { Inject, Injectable } from '@nestjs/common';
import type { OAuthRegisteredClientsStore } from '@modelcontextprotocol/sdk/server/auth/clients.js';
import { CustomOAuthError, InvalidClientMetadataError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { OAuthClientInformationFull } from '@modelcontextprotocol/sdk/shared/auth.js';
import { LRUCache } from 'lru-cache';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { SchemaService } from '../clickhouse/schema/schema.service.js';
import { dateTime, sql, str } from '../clickhouse/sql.js';
import { CLOCK, type Clock } from '../common/clock.js';
import { MCP_OAUTH_CLIENTS_TABLE } from './oauth.tables.js';
import { available } from './oauth-outage.js';
import { isAllowedRedirect } from './redirect-uris.js';

const MAX_METADATA_BYTES = 8192;
const MAX_REDIRECT_URIS = 10;
const CLIENT_ID_PATTERN = /^[0-9a-f-]{36}$/;

/**
 * The registered MCP clients (the SDK's client store), in `mcp_oauth_clients`. Every client is
 * registered as a public client: PKCE protects its codes, so no client secret is issued or stored.
 * A client never changes once registered, so lookups are cached.
 */
@Injectable()
export class OAuthClientsRepository implements OAuthRegisteredClientsStore {
  private readonly cache = new LRUCache<string, OAuthClientInformationFull>({ max: 1000 });

  constructor(
    private readonly clickhouse: ClickHouseService,
    schema: SchemaService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    schema.register(MCP_OAUTH_CLIENTS_TABLE);
  }

  async getClient(clientId: string): Promise<OAuthClientInformationFull | undefined> {
    if (!CLIENT_ID_PATTERN.test(clientId)) return undefined;
    const cached = this.cache.get(clientId);
    if (cached) return cached;
    const [row] = await available(() =>
      this.clickhouse.query<{ metadata: string }>(sql`
        SELECT metadata FROM mcp_oauth_clients WHERE client_id = ${str(clientId)} LIMIT 1`),
    );
    if (!row) return undefined;
    const client = JSON.parse(row.metadata) as OAuthClientInformationFull;
    this.cache.set(clientId, client);
    return client;
  }

  async registerClient(client: Omit<OAuthClientInformationFull, 'client_id' | 'client_id_issued_at'>): Promise<OAuthClientInformationFull> {
    const registered = asPublicClient(client as OAuthClientInformationFull);
    assertAcceptable(registered);
    await available(() => this.clickhouse.insert(MCP_OAUTH_CLIENTS_TABLE.name, [toRow(registered, false)]));
    return registered;
  }

  /** Records that a user signed in with this client, so that it is never pruned as unused. */
  async markSignedIn(client: OAuthClientInformationFull): Promise<void> {
    await this.clickhouse.insert(MCP_OAUTH_CLIENTS_TABLE.name, [toRow(client, true)]);
  }

  /**
   * Deletes the clients nobody signed in with within `hours` of registering (dynamic registration
   * is open to anyone), as one mutation when there are any; answers how many clients that is.
   * The registration rows of clients that were signed in with go too: their sign-in rows hold the
   * same metadata. An instance that cached a deleted client still knows it; a sign-in with it there
   * writes its row again.
   */
  async pruneUnused(hours: number): Promise<number> {
    const registeredBefore = dateTime(new Date(this.clock.now().getTime() - hours * 3_600_000));
    const [row] = await this.clickhouse.query<{ n: string }>(sql`
      SELECT count() AS n FROM (
        SELECT client_id FROM mcp_oauth_clients GROUP BY client_id HAVING max(signed_in) = 0 AND max(created_at) < ${registeredBefore})`);
    const clients = Number(row.n);
    if (clients > 0) await this.clickhouse.command(sql`ALTER TABLE mcp_oauth_clients DELETE WHERE signed_in = 0 AND created_at < ${registeredBefore}`);
    return clients;
  }
}

/** Its row; a sign-in's copy keeps `created_at`, the version, so that it wins a merge as the later insert. */
const toRow = (client: OAuthClientInformationFull, signedIn: boolean) => ({
  client_id: client.client_id,
  client_name: client.client_name ?? '',
  metadata: JSON.stringify(client),
  created_at: client.client_id_issued_at ?? Math.floor(Date.now() / 1000),
  signed_in: signedIn ? 1 : 0,
});

/** RFC 7591 lets the server replace what a client asked for: here, no secret, PKCE instead. */
function asPublicClient(client: OAuthClientInformationFull): OAuthClientInformationFull {
  const { client_secret: _secret, client_secret_expires_at: _expiry, ...rest } = client;
  return { ...rest, token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] };
}

function assertAcceptable(client: OAuthClientInformationFull): void {
  if (Buffer.byteLength(JSON.stringify(client)) > MAX_METADATA_BYTES) throw new InvalidClientMetadataError(`client metadata is larger than ${MAX_METADATA_BYTES} bytes`);
  if (client.redirect_uris.length === 0 || client.redirect_uris.length > MAX_REDIRECT_URIS) {
    throw new InvalidClientMetadataError(`redirect_uris must list 1 to ${MAX_REDIRECT_URIS} URIs`);
  }
  for (const uri of client.redirect_uris) {
    if (!isAllowedRedirect(uri)) {
      throw new CustomOAuthError(
        'invalid_redirect_uri',
        `redirect_uri ${JSON.stringify(uri.slice(0, 200))} is not allowed: use https, http on a loopback address, or an app's reverse-DNS scheme (com.example.app:/callback)`,
      );
    }
  }
}
