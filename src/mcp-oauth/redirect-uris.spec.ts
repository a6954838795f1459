import fc from 'fast-check';
import { isAllowedRedirect, redirectHost } from './redirect-uris.js';

describe('isAllowedRedirect (an allow-list)', () => {
  it.each([
    ['https://claude.ai/api/mcp/auth_callback', true],
    ['https://elsewhere.example:8443/cb?x=1', true],
    ['http://127.0.0.1:33418/callback', true],
    ['http://localhost/cb', true],
    ['http://[::1]:9/cb', true],
    ['com.example.app:/oauth2redirect', true],
    ['com.example.app://callback/path', true],
    ['cursor://anysphere.cursor-mcp/oauth/callback', true],
    // http only on loopback
    ['http://evil.example/callback', false],
    ['http://127.0.0.1.nip.io/cb', false],
    // fragments, even empty ones, and user info
    ['https://a.example/cb#x', false],
    ['https://a.example/cb#', false],
    ['http://127.0.0.1/cb#frag', false],
    ['https://user@host.example/cb', false],
    ['https://user:pw@host.example/cb', false],
    ['com.example.app://user@host/cb', false],
    ['https://@a.example/cb', false],
    ['https://:@a.example/cb', false],
    ['https:@a.example/cb', false],
    // hosts that are not plain names (they would land in the page's CSP)
    ['https://x;script-src/cb', false],
    ['https://a.example%2Fevil/cb', false],
    // schemes that are not on the list
    ['ftp://files.example/cb', false],
    ['ws://127.0.0.1/cb', false],
    ['wss://a.example/cb', false],
    ['intent://x#Intent;scheme=http;end', false],
    ['intent://x/cb', false],
    ['javascript:alert(1)', false],
    ['javascript://a.example/%0aalert(1)', false],
    ['data:text/html,<script>alert(1)</script>', false],
    ['file:///etc/passwd', false],
    ['blob:https://a.example/x', false],
    ['view-source://host.example/x', false],
    ['ms-msdt:/id', false],
    ['search-ms:query=x', false],
    ['myapp://host/cb', false],
    ['cursor:/no-host', false],
    ['cursor://Upper.Case/cb', false],
    // a dotted scheme must read as a reversed domain
    ['.example.app:/cb', false],
    ['com..app:/cb', false],
    // not visible ASCII, backslashes, not a URI at all
    [' https://a.example/cb', false],
    ['https://a.example/c b', false],
    ['https://exämple.com/cb', false],
    ['https:\\\\a.example\\cb', false],
    ['/relative/cb', false],
    ['', false],
  ])('%s → %s', (uri, allowed) => {
    expect(isAllowedRedirect(uri)).toBe(allowed);
  });

  // A label that starts with a letter: a host ending in a number is read as an IPv4 address.
  const label = fc.stringMatching(/^[a-z]([a-z0-9-]{0,10}[a-z0-9])?$/);
  const path = fc.array(fc.stringMatching(/^[A-Za-z0-9._~-]{1,8}$/), { maxLength: 4 }).map((parts) => `/${parts.join('/')}`);

  it('should allow every https URI with a plain host, and every reverse-DNS scheme', () => {
    fc.assert(
      fc.property(fc.array(label, { minLength: 1, maxLength: 4 }), path, (labels, rest) => {
        expect(isAllowedRedirect(`https://${labels.join('.')}${rest}`)).toBe(true);
        expect(isAllowedRedirect(`com.${labels.join('.')}:${rest}`)).toBe(true);
      }),
    );
  });

  it('should refuse every scheme without a dot but https, loopback http and the known apps, whatever follows', () => {
    const scheme = fc.stringMatching(/^[a-z][a-z0-9+-]{0,12}$/).filter((name) => !['https', 'http', 'cursor'].includes(name));
    fc.assert(
      fc.property(scheme, fc.string(), (name, rest) => {
        expect(isAllowedRedirect(`${name}:${rest}`)).toBe(false);
      }),
    );
  });

  it('should refuse whatever carries a fragment or user info, and never throw on any text', () => {
    fc.assert(
      // User info is what comes before an @ in the authority: no / ? # \ there.
      fc.property(fc.string(), fc.string(), (before, after) => {
        expect(isAllowedRedirect(`https://a.example/${before}#${after}`)).toBe(false);
        expect(isAllowedRedirect(`https://${before.replace(/[/?#\\]/g, '')}@a.example/${after}`)).toBe(false);
        expect(() => isAllowedRedirect(before + after)).not.toThrow();
      }),
    );
  });

  it('should allow only what leads to https, loopback http or an app, with no fragment or user info', () => {
    fc.assert(
      fc.property(fc.oneof(fc.webUrl({ withFragments: true, withQueryParameters: true }), fc.string({ unit: 'binary-ascii' })), (uri) => {
        if (!isAllowedRedirect(uri)) return;
        const url = new URL(uri);
        expect(uri).not.toContain('#');
        expect([url.username, url.password]).toEqual(['', '']);
        const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
        expect(url.protocol === 'https:' || (url.protocol === 'http:' && loopback) || url.protocol.includes('.') || url.protocol === 'cursor:').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('redirectHost', () => {
  it('should name where a redirect leads, and nothing for this computer', () => {
    expect(redirectHost('https://elsewhere.example/cb')).toBe('elsewhere.example');
    expect(redirectHost('http://127.0.0.1:33418/cb')).toBeUndefined();
    expect(redirectHost('cursor://anysphere.cursor-mcp/oauth/callback')).toBe('cursor://anysphere.cursor-mcp');
    expect(redirectHost('com.example.app:/cb')).toBe('com.example.app:');
  });
});
