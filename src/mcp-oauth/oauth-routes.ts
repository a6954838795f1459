import { authorizationHandler } from '@modelcontextprotocol/sdk/server/auth/handlers/authorize.js';
import { clientRegistrationHandler } from '@modelcontextprotocol/sdk/server/auth/handlers/register.js';
import { revocationHandler } from '@modelcontextprotocol/sdk/server/auth/handlers/revoke.js';
import { tokenHandler } from '@modelcontextprotocol/sdk/server/auth/handlers/token.js';
import type { OAuthMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { NestExpressApplication } from '@nestjs/platform-express';
import cors from 'cors';
import express, { type Request, type Response } from 'express';
import type { AppConfig } from '../config/app-config.js';
import { McpOAuthProvider } from './oauth.provider.js';
import { outageAsServiceUnavailable } from './oauth-outage.js';
import { answerWithPagesOnly, checkAuthorizationRequest, checkTokenRequest, refuseMalformedInput } from './oauth-request-checks.js';
import { PublicUrls } from './public-urls.js';

export const AUTHORIZATION_SERVER_METADATA_PATH = '/.well-known/oauth-authorization-server';

/**
 * The OAuth authorization server on the REST port: metadata (RFC 8414), /authorize (the sign-in
 * page), /token, /register (RFC 7591) and /revoke (RFC 7009), from the SDK's own handlers, with
 * per-address rate limits. Its answers are OAuth's error shape ({error, error_description}), which is
 * what OAuth clients parse.
 */
export function mountOAuthRoutes(app: NestExpressApplication, config: AppConfig): void {
  const provider = app.get(McpOAuthProvider);
  const urls = app.get(PublicUrls);
  // Where a password is tried or something is stored, an address gets what the REST sign-in
  // endpoints allow (AUTH_RATE_*); token exchanges carry unguessable tokens and come from every
  // client behind a NAT refreshing, so they get ten times as many.
  const windowMs = config.authRateLimit.windowSeconds * 1000;
  const strict = { windowMs, limit: config.authRateLimit.limit };
  const lenient = { windowMs, limit: config.authRateLimit.limit * TOKEN_RATE_FACTOR };
  app.use(AUTHORIZATION_SERVER_METADATA_PATH, cors(), (req: Request, res: Response) => {
    if (req.method !== 'GET') return res.status(405).setHeader('Allow', 'GET').json({ error: 'invalid_request', error_description: 'Use GET' });
    res.setHeader('Cache-Control', 'no-store');
    res.json(authorizationServerMetadata(urls.apiBase(req)));
  });
  const checked = [outageAsServiceUnavailable, refuseMalformedInput];
  const form = express.urlencoded({ extended: false });
  // answerWithPagesOnly first: the outage's 503 passes through it.
  app.use('/authorize', answerWithPagesOnly, ...checked, form, checkAuthorizationRequest(urls), authorizationHandler({ provider, rateLimit: strict }));
  app.use('/token', ...checked, form, checkTokenRequest(urls), tokenHandler({ provider, rateLimit: lenient }));
  app.use('/register', ...checked, clientRegistrationHandler({ clientsStore: provider.clientsStore, rateLimit: strict }));
  app.use('/revoke', ...checked, revocationHandler({ provider, rateLimit: lenient }));
}

const TOKEN_RATE_FACTOR = 10;

function authorizationServerMetadata(issuer: string): OAuthMetadata {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    registration_endpoint: `${issuer}/register`,
    revocation_endpoint: `${issuer}/revoke`,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none'],
    revocation_endpoint_auth_methods_supported: ['none'],
    service_documentation: `${issuer}/docs`,
  };
}
