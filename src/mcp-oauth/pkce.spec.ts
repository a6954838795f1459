import { createHash } from 'node:crypto';
import { verifiesChallenge } from './pkce.js';

const createChallenge = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

describe('verifiesChallenge (PKCE S256)', () => {
  // RFC 7636 Appendix B.
  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

  it('should accept the verifier of the RFC example and nothing else', () => {
    expect(verifiesChallenge(verifier, challenge)).toBe(true);
    expect(verifiesChallenge(`${verifier.slice(0, -1)}l`, challenge)).toBe(false);
    expect(verifiesChallenge(undefined, challenge)).toBe(false);
    expect(verifiesChallenge(challenge, challenge)).toBe(false);
  });

  it('should refuse a verifier that is not 43 to 128 unreserved characters, even when its hash matches', () => {
    const short = 'abc';
    const long = 'a'.repeat(129);
    const spaced = `${'a'.repeat(42)} `;
    for (const bad of [short, long, spaced]) {
      expect(verifiesChallenge(bad, createChallenge(bad))).toBe(false);
    }
    expect(verifiesChallenge('a'.repeat(128), createChallenge('a'.repeat(128)))).toBe(true);
  });
});

