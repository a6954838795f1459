import { HttpException, Inject, Injectable, Logger } from '@nestjs/common';
import type { AuthorizationParams, OAuthServerProvider } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import { InvalidGrantError, InvalidTargetError, InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { OAuthClientInformationFull, OAuthTokenRevocationRequest, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import type { Request, Response } from 'express';
import { AuthService } from '../auth/auth.service.js';
import { LoginDto } from '../auth/dto/login.dto.js';
import type { User } from '../auth/user.js';
import { StoreUnavailableError } from '../clickhouse/clickhouse-errors.js';
import { clientAddress } from '../common/client-address.js';
import { KeyedSerialQueue } from '../common/serial-queue.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { hashApiKey } from '../mcp-keys/api-key.js';
import { ApiKeyVerifier } from '../mcp-keys/api-key-verifier.js';
import { McpKeysService } from '../mcp-keys/mcp-keys.service.js';
import { OAuthClientsRepository } from './oauth-clients.repository.js';
import { redirectAfterSignIn } from './oauth-request-checks.js';
import { available } from './oauth-outage.js';
import { generateOAuthToken, isWellFormedAccessToken } from './oauth-tokens.js';
import { OAuthTokensRepository, type StoredOAuthToken } from './oauth-tokens.repository.js';
import { verifiesChallenge } from './pkce.js';
import { PublicUrls } from './public-urls.js';
import { redirectHost } from './redirect-uris.js';
import { sendSignInPage } from './sign-in-page.js';

const CODE_TTL_MS = 10 * 60_000;
const DAY_MS = 86_400_000;
const MAX_CLIENT_NAME = 80;

/**
 * The authorization server behind the SDK's OAuth handlers (/authorize, /token, /register,
 * /revoke): a sign-in page on the REST port, codes bound to PKCE, and tokens that stand for an API
 * key of the user's. Redeeming a code creates the key "OAuth: <client>" (OAUTH_GRANT_TTL_DAYS),
 * so a sign-in is listed, revoked, scoped and metered like any key; access tokens
 * (OAUTH_ACCESS_TOKEN_TTL_SECONDS) and rotating refresh tokens never outlive it.
 */
@Injectable()
export class McpOAuthProvider implements OAuthServerProvider {
  private readonly logger = new Logger(McpOAuthProvider.name);
  /** ClickHouse has no transactions: a code or refresh token is redeemed once per instance by one exchange of it at a time. */
  private readonly exchanges = new KeyedSerialQueue();

  constructor(
    readonly clientsStore: OAuthClientsRepository,
    private readonly tokens: OAuthTokensRepository,
    private readonly keys: McpKeysService,
    private readonly verifier: ApiKeyVerifier,
    private readonly auth: AuthService,
    private readonly urls: PublicUrls,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    if (config.oauth.enabled) verifier.acceptDelegatedTokens({ isWellFormed: isWellFormedAccessToken, find: (tokenHash) => this.findAccessToken(tokenHash) });
  }

  /** GET shows the sign-in page; its POST (the same parameters, plus email and password) signs in and redirects with a code. */
  async authorize(client: OAuthClientInformationFull, params: AuthorizationParams, res: Response): Promise<void> {
    const req = res.req as Request;
    const page = { clientName: clientNameOf(client), redirectUri: params.redirectUri, fields: formFields(client, params) };
    if (req.method !== 'POST') return sendSignInPage(res, 200, page);
    // A sign-in on the page is a POST the page itself makes; anything else was sent by another site.
    if (!this.isSameOrigin(req)) return sendSignInPage(res, 403, { ...page, error: 'This sign-in form must be sent from this site.' });
    const body = (req.body ?? {}) as Record<string, unknown>;
    const email = typeof body.email === 'string' ? body.email.slice(0, 254) : '';
    const credentials = plainToInstance(LoginDto, { email: body.email, password: body.password });
    if (validateSync(credentials).length > 0) return sendSignInPage(res, 400, { ...page, email, error: 'Enter your email and password.' });
    try {
      const user = await this.auth.authenticate(credentials, clientAddress(req, this.config.http.trustProxy));
      // A missing resource is this server's MCP endpoint (older clients do not send one).
      redirectAfterSignIn(res, await this.issueCode(client, params, user, params.resource?.href ?? new URL(this.urls.mcpEndpoint(req)).href));
    } catch (error) {
      if (error instanceof HttpException) return sendSignInPage(res, error.getStatus(), { ...page, email, error: error.message });
      if (error instanceof StoreUnavailableError) {
        res.setHeader('Retry-After', '5');
        return sendSignInPage(res, 503, { ...page, email, error: 'The service cannot reach its database right now; try again in a moment.' });
      }
      // Not thrown on to the SDK's handler, which would report it by redirecting to the client.
      this.logger.error({ err: error, clientId: client.client_id }, 'OAuth sign-in failed');
      sendSignInPage(res, 500, { ...page, email, error: 'Something went wrong on our side; try again in a moment.' });
    }
  }

  /**
   * PKCE is checked here, in exchangeAuthorizationCode, before the code is judged spent: the SDK's
   * own check would come after the replay rule, and anyone holding a used code (a proxy log, a
   * browser history) could then revoke the user's sign-in without the verifier.
   */
  readonly skipLocalPkceValidation = true;

  /** Part of the SDK's provider interface; unused, since skipLocalPkceValidation is set. Changes nothing. */
  challengeForAuthorizationCode(client: OAuthClientInformationFull, code: string): Promise<string> {
    return available(async () => (await this.issuedCode(client, hashApiKey(code))).codeChallenge);
  }

  /** `resource`, when given, is this server's (checkTokenRequest) and must be the one the user signed in for. */
  exchangeAuthorizationCode(client: OAuthClientInformationFull, code: string, verifier?: string, redirectUri?: string, resource?: URL): Promise<OAuthTokens> {
    const codeHash = hashApiKey(code);
    return this.exchanges.run(codeHash, () =>
      available(async () => {
        const stored = await this.redeemable(client, codeHash, verifier);
        if (redirectUri !== undefined && redirectUri !== stored.redirectUri) throw new InvalidGrantError('redirect_uri differs from the one the code was issued for');
        this.assertSameResource(stored, resource);
        await this.assertActiveUser(stored.userId);
        // Used up before anything is created: a failure from here on costs a sign-in, never a second key.
        await this.tokens.revoke(codeHash, stored);
        const key = await this.keys.createSignInKey(stored.userId, signInKeyName(client, stored.redirectUri), this.config.oauth.grantTtlDays);
        const grantEnds = key.expiresAt ?? new Date(Date.now() + this.config.oauth.grantTtlDays * DAY_MS);
        const tokens = await this.issueTokens(client, stored, key.id, grantEnds).catch(async (error: unknown) => {
          await this.keys.revokeKey(key).catch(() => undefined);
          throw error;
        });
        await this.tokens.revoke(codeHash, stored, key.id);
        this.logger.log({ userId: stored.userId, keyId: key.id, clientId: client.client_id }, 'OAuth sign-in redeemed');
        return tokens;
      }),
    );
  }

  /**
   * Rotates the refresh token. A used one presented again means it leaked: the whole sign-in is
   * revoked (OAuth 2.1 §4.3.1), unless it was rotated within OAUTH_REFRESH_REUSE_GRACE_SECONDS:
   * two sessions of one client refreshing at once, or an answer lost on the way.
   */
  exchangeRefreshToken(client: OAuthClientInformationFull, refreshToken: string, _scopes?: string[], resource?: URL): Promise<OAuthTokens> {
    const tokenHash = hashApiKey(refreshToken);
    return this.exchanges.run(tokenHash, () =>
      available(async () => {
        const stored = await this.tokens.findIssued(tokenHash);
        if (!stored || stored.kind !== 'refresh' || stored.clientId !== client.client_id) throw new InvalidGrantError('Unknown refresh token');
        this.assertSameResource(stored, resource);
        if (stored.revoked && Date.now() - stored.ver / 1000 < this.config.oauth.refreshReuseGraceSeconds * 1000) {
          throw new InvalidGrantError('This refresh token was just used; use the one that refresh returned');
        }
        if (stored.revoked) {
          await this.revokeGrant(stored);
          throw new InvalidGrantError('This refresh token was already used, so this sign-in was revoked; sign in again');
        }
        const key = stored.expiresAt > new Date() ? await this.keys.usableKey(stored.userId, stored.keyId) : undefined;
        if (!key) throw new InvalidGrantError('This sign-in was revoked or has expired; sign in again');
        await this.assertActiveUser(stored.userId);
        await this.tokens.revoke(tokenHash, stored);
        return this.issueTokens(client, stored, key.id, key.expiresAt ?? stored.expiresAt);
      }),
    );
  }

  /** RFC 7009: revoking an access token stops it; revoking a refresh token ends the sign-in. Unknown tokens are ignored. */
  async revokeToken(client: OAuthClientInformationFull, request: OAuthTokenRevocationRequest): Promise<void> {
    await available(async () => {
      const tokenHash = hashApiKey(request.token);
      const stored = await this.tokens.findIssued(tokenHash);
      if (!stored || stored.clientId !== client.client_id || stored.kind === 'code') return;
      if (stored.kind === 'refresh') return this.revokeGrant(stored);
      await this.tokens.revoke(tokenHash, stored);
      this.verifier.evict(tokenHash);
    });
  }

  /** For the SDK's bearer middleware; the MCP port itself checks tokens in ApiKeyGuard. */
  async verifyAccessToken(token: string): Promise<AuthInfo> {
    const key = await this.verifier.verify(token);
    if (!key) throw new InvalidTokenError('Invalid or expired access token');
    return { token, clientId: key.keyId, scopes: [], ...(key.expiresAt ? { expiresAt: Math.floor(key.expiresAt.getTime() / 1000) } : {}) };
  }

  private async assertActiveUser(userId: string): Promise<void> {
    if (!(await this.auth.activeUser(userId))) throw new InvalidGrantError('This account is disabled');
  }

  /** For the key verifier, which looks again after the replication grace itself (outside its lookup gate). */
  private async findAccessToken(tokenHash: string) {
    const stored = await this.tokens.find(tokenHash);
    return stored?.kind === 'access' && !stored.revoked ? { keyId: stored.keyId, userId: stored.userId, expiresAt: stored.expiresAt, audience: stored.audience } : undefined;
  }

  private async issueCode(client: OAuthClientInformationFull, params: AuthorizationParams, user: User, audience: string): Promise<string> {
    const code = generateOAuthToken('code');
    await this.tokens.save(code, {
      kind: 'code',
      clientId: client.client_id,
      userId: user.id,
      keyId: '',
      codeChallenge: params.codeChallenge,
      redirectUri: params.redirectUri,
      audience,
      expiresAt: new Date(Date.now() + CODE_TTL_MS),
      revoked: false,
    });
    await this.clientsStore.markSignedIn(client);
    const target = new URL(params.redirectUri);
    target.searchParams.set('code', code);
    if (params.state !== undefined) target.searchParams.set('state', params.state);
    return target.href;
  }

  private async issuedCode(client: OAuthClientInformationFull, codeHash: string): Promise<StoredOAuthToken> {
    const stored = await this.tokens.findIssued(codeHash);
    if (!stored || stored.kind !== 'code' || stored.clientId !== client.client_id) throw new InvalidGrantError('Unknown authorization code');
    return stored;
  }

  /**
   * The code's row when this client may redeem it now. A code redeemed twice revokes what its
   * first use created (OAuth 2.1 §4.1.3), but only when presented with its PKCE verifier: without
   * it the request is refused and changes nothing, so a leaked code cannot end the user's sign-in.
   */
  private async redeemable(client: OAuthClientInformationFull, codeHash: string, verifier: string | undefined): Promise<StoredOAuthToken> {
    const stored = await this.issuedCode(client, codeHash);
    if (!verifiesChallenge(verifier, stored.codeChallenge)) throw new InvalidGrantError('code_verifier does not match the challenge');
    if (stored.revoked) {
      await this.revokeGrant(stored);
      throw new InvalidGrantError('This authorization code was already used');
    }
    if (stored.expiresAt <= new Date()) throw new InvalidGrantError('This authorization code has expired; sign in again');
    return stored;
  }

  /** New tokens for the sign-in `grant` (the code or refresh token redeemed): its user and resource, the key `keyId`. */
  private async issueTokens(client: OAuthClientInformationFull, grant: StoredOAuthToken, keyId: string, grantEnds: Date): Promise<OAuthTokens> {
    const accessToken = generateOAuthToken('access');
    const refreshToken = generateOAuthToken('refresh');
    const issuedAt = Date.now();
    const accessEnds = new Date(Math.min(grantEnds.getTime(), issuedAt + this.config.oauth.accessTokenTtlSeconds * 1000));
    const common = { clientId: client.client_id, userId: grant.userId, keyId, codeChallenge: '', redirectUri: '', audience: grant.audience, revoked: false };
    await this.tokens.save(refreshToken, { ...common, kind: 'refresh', expiresAt: grantEnds });
    await this.tokens.save(accessToken, { ...common, kind: 'access', expiresAt: accessEnds });
    return {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: Math.max(1, Math.floor((accessEnds.getTime() - issuedAt) / 1000)),
      refresh_token: refreshToken,
    };
  }

  /**
   * RFC 8707: a token request may name only the resource the sign-in was for ('' is this server,
   * which checkTokenRequest made sure of), compared as /authorize and the MCP door compare it.
   */
  private assertSameResource(grant: StoredOAuthToken, resource: URL | undefined): void {
    if (resource && grant.audience !== '' && !this.urls.isSameMcpResource(resource.href, grant.audience)) throw new InvalidTargetError('resource differs from the one this sign-in was for');
  }

  private async revokeGrant(stored: StoredOAuthToken): Promise<void> {
    const key = stored.keyId ? await this.keys.usableKey(stored.userId, stored.keyId) : undefined;
    if (key) await this.keys.revokeKey(key);
  }

  /**
   * Login CSRF: browsers say where a form post comes from (the page sends its origin: its
   * Referrer-Policy is same-origin). A request without those headers is not a browser's, and had
   * to know the password itself.
   */
  private isSameOrigin(req: Request): boolean {
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
    const origin = req.headers.origin;
    return origin === undefined || origin === new URL(this.urls.apiBase(req)).origin || origin === `${req.protocol}://${req.headers.host ?? ''}`;
  }
}


/** The client's name as people see it: printable (no control or direction-changing characters), short; its id when it gave none. */
function clientNameOf(client: OAuthClientInformationFull): string {
  // eslint-disable-next-line no-control-regex
  const name = (client.client_name ?? '').toWellFormed().replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '').trim();
  // Cut by code points, never inside a character.
  return Array.from(name || client.client_id)
    .slice(0, MAX_CLIENT_NAME)
    .join('');
}

/** "OAuth: <client>", and where it sends people when that is not this computer, so the key list tells look-alikes apart. */
function signInKeyName(client: OAuthClientInformationFull, redirectUri: string): string {
  const host = redirectHost(redirectUri);
  return `OAuth: ${clientNameOf(client)}${host ? ` via ${host}` : ''}`;
}

/** The authorization request, as the form posts it back to /authorize. */
function formFields(client: OAuthClientInformationFull, params: AuthorizationParams): Record<string, string | undefined> {
  return {
    client_id: client.client_id,
    redirect_uri: params.redirectUri,
    response_type: 'code',
    code_challenge: params.codeChallenge,
    code_challenge_method: 'S256',
    state: params.state,
    scope: params.scopes?.join(' ') || undefined,
    resource: params.resource?.href,
  };
}
