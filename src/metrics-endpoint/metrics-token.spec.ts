import { MetricsToken } from './metrics-token.js';

describe(MetricsToken.name, () => {
  const token = new MetricsToken('scrape-token-0123456789');

  describe('matches', () => {
    it('should accept exactly the configured token', () => {
      expect(token.matches('scrape-token-0123456789')).toBe(true);
    });

    it.each([
      ['a different token of the same length', 'scrape-token-0123456780'],
      ['a prefix', 'scrape-token-012345678'],
      ['a longer token', 'scrape-token-01234567890'],
      ['another case', 'SCRAPE-TOKEN-0123456789'],
      ['an empty string', ''],
      ['the token with whitespace', ' scrape-token-0123456789'],
    ])('should refuse %s', (_what, candidate) => {
      expect(token.matches(candidate)).toBe(false);
    });

    it('should compare non-ASCII text byte for byte', () => {
      expect(new MetricsToken('jeton-münchen-0001').matches('jeton-münchen-0001')).toBe(true);
      expect(new MetricsToken('jeton-münchen-0001').matches('jeton-munchen-0001')).toBe(false);
    });
  });
});
