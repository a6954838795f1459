import fc from 'fast-check';
import { emailLookAlikeProblem, normalizeEmail } from './email-address.js';

const INVISIBLE = 'must not contain invisible, control or whitespace characters';
const MARK = (codePoint: string) => `contains a combining mark (${codePoint}) that could hide on its letter`;
const READS_AS_ANOTHER = (codePoint: string) => `contains a letter that reads as another one (${codePoint})`;
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
    ['u@xn--bcher-kva.de', 'u@bücher.de'], // punycode labels are decoded: one address whichever form is typed
    ['u@XN--BCHER-KVA.example.de', 'u@bücher.example.de'],
    ['xn--bcher-kva@example.de', 'xn--bcher-kva@example.de'], // a local part is no domain label
    ['u@xn--zz.de', 'u@xn--zz.de'], // does not decode: kept for emailLookAlikeProblem to refuse
    ['u@xn--xn--bcher-kva.de', 'u@xn--xn--bcher-kva.de'],
    ['İlker@example.com', 'i\u0307lker@example.com'], // capital I with dot lower-cases to i + combining dot: refused below
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
    'u@xn--bcher-kva.de', // decoded to bücher.de
    'नमस्ते@उदाहरण.भारत', // Devanagari writes vowels with nonspacing marks: kept
    'สวัสดี@ตัวอย่าง.ไทย', // Thai too
    'u@xn--80ak6aa92e.com', // decodes to an all-Cyrillic "аррӏе": whole-script look-alikes are a known limit
    'zoë@example.com', // e + combining diaeresis composes to ë
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
    ['ali\u0307ce@example.com', MARK('U+0307')], // combining dot above: no precomposed i with it, reads as "alice"
    ['alice@exampl\u0307e.com', MARK('U+0307')],
    ['alice\u0338@example.com', MARK('U+0338')], // combining long solidus overlay
    ['alice@ex\u0332ample.com', MARK('U+0332')], // combining low line
    ['ελ\u0300\u0301ένη@example.gr', MARK('U+0300')], // two accents on one Greek letter: no precomposed form
    ['иван\u0306\u0306@example.ru', MARK('U+0306')],
    ['İlker@example.com', MARK('U+0307')], // see normalizeEmail
    ['boss@ex\u0251mple.com', READS_AS_ANOTHER('U+0251')], // Latin alpha
    ['boss@\u0261mail.com', READS_AS_ANOTHER('U+0261')], // script g
    ['al\u0131ce@example.com', READS_AS_ANOTHER('U+0131')], // dotless i
    ['\u0237ohn@example.com', READS_AS_ANOTHER('U+0237')], // dotless j
    ['adm\u026An@example.com', READS_AS_ANOTHER('U+026A')], // small capital I
    ['admin\u02D0@example.com', READS_AS_ANOTHER('U+02D0')], // modifier letter triangular colon
    ['u@xn--zz.de', 'has a domain label in punycode that does not decode to a valid name'],
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

  it('should normalize punycode domains once and for all too', () => {
    const label = fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 12 }));
    const domain = fc.array(fc.oneof(label, label.map((text) => `xn--${text}`), fc.constantFrom('xn--bcher-kva', 'XN--80AK6AA92E', 'xn--ls8h')), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(label, domain, (local, labels) => {
        const once = normalizeEmail(`${local}@${labels.join('.')}`);
        expect(normalizeEmail(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });

  it('should refuse a nonspacing mark after any Latin, Greek or Cyrillic letter that has no precomposed form with it', () => {
    // U+034F, the combining grapheme joiner, is invisible and refused as such (above).
    const marks = fc.integer({ min: 0x300, max: 0x36f }).filter((code) => code !== 0x34f).map((code) => String.fromCodePoint(code));
    fc.assert(
      fc.property(fc.constantFrom('alice', 'ελένη', 'иван'), fc.nat(), marks, (word, position, mark) => {
        const at = 1 + (position % word.length);
        const email = normalizeEmail(`${word.slice(0, at)}${mark}${word.slice(at)}@example.com`);
        const kept = [...email].find((char) => /\p{Mn}/u.test(char));
        if (kept) expect(emailLookAlikeProblem(email)).toBe(MARK(`U+${kept.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`));
        else expect(emailLookAlikeProblem(email)).toBeUndefined();
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
