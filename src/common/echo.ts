/** Longest piece of caller input repeated in an error message. */
const ECHO_MAX = 80;

/**
 * Caller input as it may appear inside a message: JSON-quoted, well-formed and cut to a few dozen
 * characters, so a hostile value can neither bloat the answer nor smuggle markup or lone surrogates.
 */
export function echo(value: unknown, max = ECHO_MAX): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  const wellFormed = text.toWellFormed();
  const cut = wellFormed.length > max ? `${wellFormed.slice(0, max).toWellFormed()}…` : wellFormed;
  return JSON.stringify(cut);
}
