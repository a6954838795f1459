/** What an MCP client's redirect URI may be, and where it sends the user. */

/** Schemes of browsers and operating systems that an app's redirect URI must never be (many more are ms-…). */
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:', 'view-source:', 'filesystem:', 'jar:', 'search:', 'search-ms:', 'shell:', 'chrome:', 'edge:']);
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const HOST_PATTERN = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])$/;

/**
 * OAuth 2.1 §2.3.1 and RFC 8252: https, loopback http, or a private-use scheme with a host
 * (cursor://anysphere.cursor-mcp/…); never a script, a local file, or one of the browser's or
 * operating system's own handlers. Hosts are plain names, so they are safe in the sign-in page's
 * Content-Security-Policy too.
 */
export function isAllowedRedirect(uri: string): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (url.hash !== '' || url.username !== '' || url.password !== '' || !HOST_PATTERN.test(url.hostname)) return false;
  if (url.protocol === 'http:') return LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol === 'https:') return true;
  return !FORBIDDEN_SCHEMES.has(url.protocol) && !url.protocol.startsWith('ms-') && uri.startsWith(`${url.protocol}//`);
}

/** Where a redirect URI leads when that is not this computer: a host, or an app's scheme; undefined for loopback. */
export function redirectHost(redirectUri: string): string | undefined {
  const target = new URL(redirectUri);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return `${target.protocol}//${target.host}`;
  return LOOPBACK_HOSTS.has(target.hostname) ? undefined : target.host;
}
