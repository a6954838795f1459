/** What an MCP client's redirect URI may be, and where it sends the user. */

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
/** A plain host name or a bracketed IPv6 address: safe in the sign-in page's Content-Security-Policy too. */
const HOST_PATTERN = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])$/;
/** Visible ASCII only: no spaces, controls or look-alike characters that parsing would drop or rewrite. */
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
/** An authority with user info, even an empty one (`https://@host/`), which parsing would hide. */
const USER_INFO = /^[^:/?]+:\/*[^/?]*@/;
/** RFC 8252 §7.1: a private-use scheme is a reversed domain name the app controls (com.example.app:). */
const REVERSE_DNS_SCHEME = /^[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)+:$/;
/**
 * Schemes without a dot that a known MCP client registers: Cursor's dynamic registration sends
 * cursor://anysphere.cursor-mcp/oauth/callback among its redirect URIs and is refused whole
 * without it. Each one here is an app's own, never a browser's or operating system's handler.
 */
const KNOWN_APP_SCHEMES = new Set(['cursor:']);

/**
 * An allow-list (OAuth 2.1 §2.3.1, RFC 8252): https; http only on a loopback host (any port,
 * RFC 8252 §7.3); an app's private-use reverse-DNS scheme (com.example.app:/callback); or a known
 * MCP client's own scheme with a host. Never a fragment, user info, a host that is not a plain
 * name, or a character outside visible ASCII. Everything else (javascript:, data:, file:, ftp:,
 * ws:, intent:, ms-…:, any other scheme without a dot) is refused.
 */
export function isAllowedRedirect(uri: string): boolean {
  if (!VISIBLE_ASCII.test(uri) || uri.includes('#') || uri.includes('\\') || USER_INFO.test(uri)) return false;
  if (!URL.canParse(uri)) return false;
  const url = new URL(uri);
  if (url.protocol === 'https:') return HOST_PATTERN.test(url.hostname);
  if (url.protocol === 'http:') return LOOPBACK_HOSTS.has(url.hostname);
  if (REVERSE_DNS_SCHEME.test(url.protocol)) return url.host === '' || HOST_PATTERN.test(url.hostname);
  return KNOWN_APP_SCHEMES.has(url.protocol) && uri.startsWith(`${url.protocol}//`) && HOST_PATTERN.test(url.hostname);
}

/** Where a redirect URI leads when that is not this computer: a host, or an app's scheme; undefined for loopback. */
export function redirectHost(redirectUri: string): string | undefined {
  const target = new URL(redirectUri);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return target.host ? `${target.protocol}//${target.host}` : target.protocol;
  return LOOPBACK_HOSTS.has(target.hostname) ? undefined : target.host;
}
