import fc from 'fast-check';
import { packClaims, packToken, platformKeyPair, signHs256, signRs256, unsigned } from '../../test/support/platform-tokens.js';
import { looksLikePlatformToken, platformTokenKeyId, verifyPlatformToken } from './platform-token.js';

const platform = platformKeyPair();
const stranger = platformKeyPair();
const NOW = new Date();
const nowSeconds = Math.floor(NOW.getTime() / 1000);
const verify = (token: string) => verifyPlatformToken(token, platform.publicKey, NOW);

describe('verifyPlatformToken', () => {
  it('reads the subject, the pack and the expiry of a token the platform signed', () => {
    expect(verify(packToken(platform.privateKey, 'alice', 10_000))).toEqual({ subject: 'alice', packRecords: 10_000, expiresAt: new Date((nowSeconds + 3600) * 1000) });
  });

  it.each([
    ['a realtime_stock subscription (no pack)', { type: 'realtime_stock', markets: ['a'] }, undefined],
    ['a scope without a type (a stock subscription)', { markets: ['hk'] }, undefined],
    ['another type that lists markets', { type: 'stock_policy', markets: ['a'] }, undefined],
    ['a pack of 0 records (the original meters nothing)', { type: 'mcp_query', quota: { total: 0 } }, undefined],
  ])('accepts %s as the original does', (_, scope, packRecords) => {
    expect(verify(packToken(platform.privateKey, 'bob', 1, { scope }))?.packRecords).toBe(packRecords);
  });

  it.each([
    ['expired', packToken(platform.privateKey, 'eve', 60, { exp: nowSeconds - 1 })],
    ['expiring this very second', packToken(platform.privateKey, 'eve', 60, { exp: nowSeconds })],
    ['not valid yet', packToken(platform.privateKey, 'eve', 60, { nbf: nowSeconds + 60 })],
    ['signed by another key', packToken(stranger.privateKey, 'eve', 60)],
    ['HS256 keyed with the public key', signHs256(packClaims('eve', 60), platform.publicPem)],
    ['alg none, empty signature', unsigned(packClaims('eve', 60))],
    ['alg none, with a signature', unsigned(packClaims('eve', 60), 'c2ln')],
    ['RS256 signature under a header naming RS512', signRs256({ alg: 'RS512' }, packClaims('eve', 60), platform.privateKey)],
    ['a critical header extension', signRs256({ alg: 'RS256', crit: ['b64'], b64: false }, packClaims('eve', 60), platform.privateKey)],
    ['a scope type the original refuses', packToken(platform.privateKey, 'eve', 60, { scope: { type: 'admin' } })],
    ['a scope that is not an object', packToken(platform.privateKey, 'eve', 60, { scope: 'mcp_query' })],
    ['a fractional pack', packToken(platform.privateKey, 'eve', 60, { scope: { type: 'mcp_query', quota: { total: 1.5 } } })],
    ['a negative pack', packToken(platform.privateKey, 'eve', 60, { scope: { type: 'mcp_query', quota: { total: -5 } } })],
    ['a pack given as text', packToken(platform.privateKey, 'eve', 60, { scope: { type: 'mcp_query', quota: { total: '60' } } })],
    ['no subject', packToken(platform.privateKey, 'eve', 60, { sub: undefined })],
    ['an empty subject', packToken(platform.privateKey, '', 60)],
    ['a numeric subject', packToken(platform.privateKey, 'eve', 60, { sub: 42 })],
    ['an exp given as text', packToken(platform.privateKey, 'eve', 60, { exp: String(nowSeconds + 60) })],
  ])('refuses a token %s', (_, token) => {
    expect(verify(token)).toBeUndefined();
  });

  it('refuses a token whose claims were changed after signing (a larger pack)', () => {
    const [header, , signature] = packToken(platform.privateKey, 'eve', 60).split('.');
    const larger = Buffer.from(JSON.stringify(packClaims('eve', 1_000_000))).toString('base64url');
    expect(verify(`${header}.${larger}.${signature}`)).toBeUndefined();
  });

  it('never throws and never accepts an arbitrary string', () => {
    fc.assert(fc.property(fc.string({ maxLength: 600 }), (text) => verify(text) === undefined));
    fc.assert(fc.property(fc.array(fc.base64String(), { minLength: 3, maxLength: 3 }), (parts) => verify(parts.join('.').replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '')) === undefined));
  });

  it('never accepts any header and claims signed by another key, whatever they hold', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue(), (header, payload) => verify(signRs256({ ...header, alg: 'RS256' }, payload as object, stranger.privateKey)) === undefined),
      { numRuns: 50 },
    );
  });

  it('refuses every token with one character of it changed', () => {
    const token = packToken(platform.privateKey, 'alice', 60);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    fc.assert(
      fc.property(fc.nat({ max: token.length - 1 }), fc.constantFrom(...alphabet), (at, replacement) => {
        fc.pre(token[at] !== replacement);
        return verify(`${token.slice(0, at)}${replacement}${token.slice(at + 1)}`) === undefined;
      }),
      { numRuns: 200 },
    );
  });

  it('refuses another spelling of the same signature (unused bits of its last base64url character set)', () => {
    const token = packToken(platform.privateKey, 'alice', 60);
    const last = token.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // A 256-byte signature is 342 characters: the last one carries 2 bits and 4 unused ones.
    const sameBytes = [...alphabet].filter((char) => char !== last && Buffer.from(`${token.slice(token.lastIndexOf('.') + 1, -1)}${char}`, 'base64url').equals(Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url')));
    expect(sameBytes).toHaveLength(15);
    expect(verify(token)?.subject).toBe('alice');
    expect(sameBytes.map((char) => verify(`${token.slice(0, -1)}${char}`))).toEqual(Array(15).fill(undefined));
  });

  it('accepts any subject and pack the platform signs, exactly as signed', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 256 }).filter((sub) => sub.isWellFormed()), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (sub, total) => {
        const claims = verify(packToken(platform.privateKey, sub, total));
        return claims?.subject === sub && claims.packRecords === total;
      }),
      { numRuns: 30 },
    );
  });
});

describe('looksLikePlatformToken / platformTokenKeyId', () => {
  it('tells a JWS apart from sk- keys and OAuth tokens, and names a token without showing it', () => {
    const token = packToken(platform.privateKey, 'alice', 60);
    expect(looksLikePlatformToken(token)).toBe(true);
    expect(looksLikePlatformToken(`sk-${'a'.repeat(64)}`)).toBe(false);
    expect(looksLikePlatformToken(`sk-oauth-${'a'.repeat(64)}`)).toBe(false);
    expect(looksLikePlatformToken(`${'a'.repeat(9000)}.b.c`)).toBe(false);
    expect(platformTokenKeyId(token)).toMatch(/^jwt-[0-9a-f]{32}$/);
    expect(platformTokenKeyId(token)).toBe(platformTokenKeyId(token));
    expect(platformTokenKeyId(token)).not.toBe(platformTokenKeyId(packToken(platform.privateKey, 'alice', 61)));
  });
});
