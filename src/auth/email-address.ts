import { domainToUnicode } from 'node:url';
import { Transform } from 'class-transformer';
import { ValidateBy, type ValidationOptions } from 'class-validator';

/** The longest address accepted (RFC 5321's path limit less the angle brackets). */
export const MAX_EMAIL_LENGTH = 254;

/**
 * The one form an address is stored and looked up in: trimmed, NFKC-normalized and lower-cased,
 * so a full-width or compatibility spelling ("ａdmin@example.com") is the same account as the
 * plain one instead of a second account that reads alike; a punycode domain label ("xn--bcher-kva")
 * is decoded, so an internationalized domain is one address whichever form it is typed in.
 * Idempotent; never throws.
 */
export function normalizeEmail(raw: string): string {
  const folded = fold(raw).trim();
  const at = folded.lastIndexOf('@');
  if (at < 0) return folded;
  return `${folded.slice(0, at)}@${folded.slice(at + 1).split('.').map(decodePunycodeLabel).join('.')}`;
}

const fold = (text: string) => text.normalize('NFKC').toLowerCase().normalize('NFKC');

const isPunycode = (label: string) => label.startsWith('xn--');

/**
 * A punycode label's Unicode form, or the label unchanged when it does not decode to a valid one
 * (domainToUnicode answers '' or the label itself): such a label is refused by emailLookAlikeProblem.
 * Only punycode labels go through domainToUnicode, so its own mapping never rewrites anything else.
 */
function decodePunycodeLabel(label: string): string {
  if (!isPunycode(label)) return label;
  // Folded as the rest of the address, so normalizing again changes nothing (UTS #46 keeps, e.g., upper-case Cherokee).
  const decoded = fold(domainToUnicode(label));
  return decoded === '' || isPunycode(decoded) || decoded.includes('.') ? label : decoded;
}

/** Trims, NFKC-normalizes and lower-cases a string field; other types pass through so validation can reject them. */
export const NormalizeEmail = () => Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? normalizeEmail(value) : value));

// Characters a reader cannot see or tell apart from none: controls, format characters (zero-width
// joiners, bidi overrides), default-ignorables (fillers, variation selectors), separators other than
// the plain space, private-use, unassigned and lone surrogates. Whitespace is never part of an address.
const INVISIBLE_OR_CONTROL = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Cn}\p{Z}\p{Default_Ignorable_Code_Point}\s]/u;

// Characters shared by every script (digits, punctuation) or taking their script from the letter
// before them (combining marks): they mix with any script.
const ANY_SCRIPT = /[\p{Script=Common}\p{Script=Inherited}]/u;

/** Unicode's recommended scripts for identifiers (UAX #31, table 5): the scripts of living languages. */
const RECOMMENDED_SCRIPTS = [
  'Arabic', 'Armenian', 'Bengali', 'Bopomofo', 'Cyrillic', 'Devanagari', 'Ethiopic', 'Georgian', 'Greek', 'Gujarati', 'Gurmukhi',
  'Han', 'Hangul', 'Hebrew', 'Hiragana', 'Kannada', 'Katakana', 'Khmer', 'Lao', 'Latin', 'Malayalam', 'Myanmar', 'Oriya',
  'Sinhala', 'Tamil', 'Telugu', 'Thaana', 'Thai', 'Tibetan',
].map((name) => ({ name, pattern: new RegExp(`\\p{Script=${name}}`, 'u') }));

/**
 * The script mixes that are one writing system (UTS #39's "highly restrictive" level): Japanese,
 * Chinese with Bopomofo and Korean, each also with Latin. Any other mix, Latin with Cyrillic or
 * Greek above all, is how look-alike addresses are made.
 */
const WRITING_SYSTEMS = [
  ['Latin', 'Han', 'Hiragana', 'Katakana'],
  ['Latin', 'Han', 'Bopomofo'],
  ['Latin', 'Han', 'Hangul'],
];

const codePointName = (char: string) => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** The scripts of a label's letters, or the first letter of a script not accepted. */
function scriptsOf(label: string): { scripts: Set<string> } | { unaccepted: string } {
  const scripts = new Set<string>();
  for (const char of label) {
    if (ANY_SCRIPT.test(char)) continue;
    const script = RECOMMENDED_SCRIPTS.find(({ pattern }) => pattern.test(char));
    if (!script) return { unaccepted: char };
    scripts.add(script.name);
  }
  return { scripts };
}

const isOneWritingSystem = (scripts: Set<string>) =>
  scripts.size <= 1 || WRITING_SYSTEMS.some((system) => [...scripts].every((script) => system.includes(script)));

// Latin letters that read as another one: the IPA Extensions block (ɑ, ɡ, ɩ…), spacing modifier
// letters (ʜ-like small capitals, ˓…), dotless ı and dotless ȷ. No living language's address needs them.
const LOOK_ALIKE_LATIN = /[\u0250-\u02ff\u0131\u0237]/u;

// A nonspacing mark NFKC left in place has no precomposed letter to join: in these scripts, which
// have precomposed forms for every accented letter their languages use, it can only sit on a
// letter to hide (i + U+0307 reads as i, U+0338 and U+0332 as strokes a reader overlooks). Other
// scripts (Devanagari, Thai…) write their vowels with such marks and keep them.
const NONSPACING_MARK = /\p{Mn}/u;
const PRECOMPOSED_SCRIPTS = ['Latin', 'Greek', 'Cyrillic'];

/** What makes a label (the local part, or one label of the domain) look like another, if anything. */
function labelProblem(label: string): string | undefined {
  const lookAlike = LOOK_ALIKE_LATIN.exec(label);
  if (lookAlike) return `contains a letter that reads as another one (${codePointName(lookAlike[0])})`;
  const found = scriptsOf(label);
  if ('unaccepted' in found) return `contains a letter of a script not accepted in addresses here (${codePointName(found.unaccepted)})`;
  if (!isOneWritingSystem(found.scripts)) return `mixes scripts within one part (${[...found.scripts].join(' and ')}), so it could pass for another address`;
  const mark = NONSPACING_MARK.exec(label);
  if (mark && PRECOMPOSED_SCRIPTS.some((script) => found.scripts.has(script))) return `contains a combining mark (${codePointName(mark[0])}) that could hide on its letter`;
  return undefined;
}

/** A domain label still in punycode after normalizeEmail did not decode to a valid name. */
function domainLabelProblem(label: string): string | undefined {
  if (isPunycode(label)) return 'has a domain label in punycode that does not decode to a valid name';
  return labelProblem(label);
}

/**
 * Why an address (already normalized) could be mistaken for another one, or undefined when it
 * cannot: invisible or control characters anywhere, Latin letters that read as other ones, letters
 * of an uncommon script, a part that mixes scripts, a combining mark on a Latin, Greek or Cyrillic
 * letter, or a punycode domain label that does not decode. Whether it is a well-formed address at all is IsEmail's question; longer than
 * MAX_EMAIL_LENGTH is MaxLength's (and not scanned, so kilobytes of text cost nothing here).
 */
export function emailLookAlikeProblem(email: string): string | undefined {
  if (email.length > MAX_EMAIL_LENGTH) return undefined;
  if (INVISIBLE_OR_CONTROL.test(email)) return 'must not contain invisible, control or whitespace characters';
  const at = email.lastIndexOf('@');
  if (at < 0) return labelProblem(email);
  return labelProblem(email.slice(0, at)) ?? email.slice(at + 1).split('.').map(domainLabelProblem).find((problem) => problem !== undefined);
}

/** Refuses addresses that could be mistaken for another one (see emailLookAlikeProblem); 400 naming the field. */
export function IsUnmistakableEmail(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isUnmistakableEmail',
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || emailLookAlikeProblem(value) === undefined,
        defaultMessage: (args) => `${args?.property} ${emailLookAlikeProblem(String(args?.value))}`,
      },
    },
    options,
  );
}
