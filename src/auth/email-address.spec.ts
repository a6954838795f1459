import fc from 'fast-check';
import { emailLookAlikeProblem, normalizeEmail } from './email-address.js';

const INVISIBLE = 'must not contain invisible, control or whitespace characters';
const mixes = (scripts: string) => `mixes scripts within one part (${scripts}), so it could pass for another address`;

describe(normalizeEmail.name, () => {
  it.each([
    ['  Alice@Example.COM ', 'alice@example.com'],
    ['ａdmin@example.com', 'admin@example.com'], // full-width a
    ['ＡＤＭＩＮ＠ＥＸＡＭＰＬＥ．ＣＯＭ', 'admin@example.com'], // all full-width, @ and . included
    ['ﬁnance@example.com', 'finance@example.com'], // the fi ligature
    ['admin@example\u3002com', 'admin@example\u3002com'], // the ideographic full stop is no compatibility form: left for IsEmail to refuse
    ['Ⅻ@example.com', 'xii@example.com'], // the roman numeral twelve
    ['café@example.com', 'café@example.com'], // e + combining acute composes to é
    ['MÜNCHEN@example.de', 'münchen@example.de'],
  ])('should turn %j into %j', (raw, normalized) => {
    expect(normalizeEmail(raw)).toBe(normalized);
  });
});

describe(emailLookAlikeProblem.name, () => {
  it.each([
    'admin@example.com',
    'first.last+tag@sub.example.co.uk',
    'müller@bücher.de', // Latin with diacritics
    'иван@пример.рф', // Cyrillic throughout
    'ivan@пример.рф', // Latin local part, Cyrillic domain: each part is one script
    'ελένη@example.gr',
    '山田たろう@example.jp', // Han with Hiragana: Japanese
    'tanakaカタカナ@example.jp', // Latin with Katakana: Japanese too
    '김철수@example.kr',
    'user123@example.com',
    'x'.repeat(300), // too long: MaxLength's to refuse, not scanned here
  ])('should accept %j', (email) => {
    expect(emailLookAlikeProblem(normalizeEmail(email))).toBeUndefined();
  });

  it.each([
    ['ad\u200bmin@example.com', INVISIBLE], // zero-width space
    ['admin\u200d@example.com', INVISIBLE], // zero-width joiner
    ['ad\ufeffmin@example.com', INVISIBLE], // byte order mark (at either end it is trimmed, like spaces)
    ['admin@exa\u00admple.com', INVISIBLE], // soft hyphen
    ['ad\u202emin@example.com', INVISIBLE], // right-to-left override
    ['admin\ufe0f@example.com', INVISIBLE], // variation selector
    ['adm\u3164in@example.com', INVISIBLE], // Hangul filler
    ['ad\u0000min@example.com', INVISIBLE],
    ['ad\u007fmin@example.com', INVISIBLE],
    ['ad min@example.com', INVISIBLE],
    ['ad\u00a0min@example.com', INVISIBLE], // no-break space (NFKC makes it a space)
    ['admin@example\u2028.com', INVISIBLE], // line separator
    ['ad\ue000min@example.com', INVISIBLE], // private use
    ['ad\ud800min@example.com', INVISIBLE], // lone surrogate
    ['\u0430dmin@example.com', mixes('Cyrillic and Latin')], // Cyrillic a
    ['admin@ex\u0430mple.com', mixes('Latin and Cyrillic')],
    ['pay\u03c1al@example.com', mixes('Latin and Greek')], // Greek rho
    ['admin@example.c\u043em', mixes('Latin and Cyrillic')], // Cyrillic o in the top-level domain
    ['\u13aadmin@example.com', 'contains a letter of a script not accepted in addresses here (U+AB7A)'], // Cherokee A, lower-cased to U+AB7A
  ])('should refuse %j: %s', (email, problem) => {
    expect(emailLookAlikeProblem(normalizeEmail(email))).toBe(problem);
  });

  it('should never throw, on any text', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.string({ unit: 'binary', maxLength: 300 }));
    fc.assert(
      fc.property(text, (raw) => {
        const problem = emailLookAlikeProblem(normalizeEmail(raw));
        expect(problem === undefined || typeof problem === 'string').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('should normalize once and for all: the normal form of the normal form is itself', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (raw) => {
        const once = normalizeEmail(raw);
        expect(normalizeEmail(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });

  it('should refuse any address with an invisible character inside it, wherever it sits', () => {
    const invisible = fc.constantFrom('\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u202e', '\u034f', '\u180e', '\u0000', '\u001b', '\ud83d');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 'admin@example.com'.length - 1 }), invisible, (at, char) => {
        const email = 'admin@example.com'.slice(0, at) + char + 'admin@example.com'.slice(at);
        expect(emailLookAlikeProblem(normalizeEmail(email))).toBe(INVISIBLE);
      }),
    );
  });
});
