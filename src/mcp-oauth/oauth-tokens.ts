import { randomBytes } from 'node:crypto';

/** What a row of mcp_oauth_tokens is. */
export type OAuthTokenKind = 'code' | 'access' | 'refresh';

/**
 * The bearer an MCP client sends after signing in: `sk-oauth-` and 64 hex characters (256 bits),
 * told apart from a pasted `sk-` key by its shape alone, so a stranger's random key costs no
 * second lookup.
 */
const ACCESS_TOKEN_PATTERN = /^sk-oauth-[0-9a-f]{64}$/;

const PREFIXES: Record<OAuthTokenKind, string> = { code: '', access: 'sk-oauth-', refresh: 'rt-' };

export function generateOAuthToken(kind: OAuthTokenKind): string {
  return `${PREFIXES[kind]}${randomBytes(32).toString('hex')}`;
}

export function isWellFormedAccessToken(candidate: string): boolean {
  return ACCESS_TOKEN_PATTERN.test(candidate);
}
