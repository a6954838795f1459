import { Transform } from 'class-transformer';
import { ValidateBy, type ValidationOptions } from 'class-validator';

/** The longest address accepted (RFC 5321's path limit less the angle brackets). */
export const MAX_EMAIL_LENGTH = 254;

/**
 * The one form an address is stored and looked up in: trimmed, NFKC-normalized and lower-cased,
 * so a full-width or compatibility spelling ("ａdmin@example.com") is the same account as the
 * plain one instead of a second account that reads alike. Idempotent; never throws.
 */
export function normalizeEmail(raw: string): string {
  return raw.normalize('NFKC').toLowerCase().normalize('NFKC').trim();
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

/** What makes a label (the local part, or one label of the domain) look like another, if anything. */
function labelProblem(label: string): string | undefined {
  const found = scriptsOf(label);
  if ('unaccepted' in found) return `contains a letter of a script not accepted in addresses here (${codePointName(found.unaccepted)})`;
  if (!isOneWritingSystem(found.scripts)) return `mixes scripts within one part (${[...found.scripts].join(' and ')}), so it could pass for another address`;
  return undefined;
}

/**
 * Why an address (already normalized) could be mistaken for another one, or undefined when it
 * cannot: invisible or control characters anywhere, letters of an uncommon script, or a part that
 * mixes scripts. Whether it is a well-formed address at all is IsEmail's question; longer than
 * MAX_EMAIL_LENGTH is MaxLength's (and not scanned, so kilobytes of text cost nothing here).
 */
export function emailLookAlikeProblem(email: string): string | undefined {
  if (email.length > MAX_EMAIL_LENGTH) return undefined;
  if (INVISIBLE_OR_CONTROL.test(email)) return 'must not contain invisible, control or whitespace characters';
  const at = email.lastIndexOf('@');
  const labels = at < 0 ? [email] : [email.slice(0, at), ...email.slice(at + 1).split('.')];
  for (const label of labels) {
    const problem = labelProblem(label);
    if (problem) return problem;
  }
  return undefined;
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
