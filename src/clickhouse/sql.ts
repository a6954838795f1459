/**
 * The only way values reach SQL in this project. ClickHouse 18.16 has no server-side query
 * parameters, so every value is rendered here as a typed literal; a template interpolation that
 * is not a Sql fragment built by these helpers is rejected at compile time and at run time.
 */
export class Sql {
  private constructor(readonly text: string) {}

  /** Reserved for this file: fragments are born from literals below or from the sql template. */
  static fromTrustedText(text: string): Sql {
    return new Sql(text);
  }

  toString(): string {
    return this.text;
  }
}

const trusted = (text: string) => Sql.fromTrustedText(text);

export function sql(strings: TemplateStringsArray, ...values: Sql[]): Sql {
  let text = strings[0];
  values.forEach((value, index) => {
    if (!(value instanceof Sql)) {
      throw new TypeError(`sql: interpolation #${index + 1} is a ${typeof value}, not a value from the binding helpers`);
    }
    text += value.text + strings[index + 1];
  });
  return trusted(text);
}

function escapeStringBody(value: string): string {
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (char === '\\') out += '\\\\';
    else if (char === "'") out += "\\'";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0').toUpperCase()}`;
    else out += char;
  }
  return out;
}

function assertType(value: unknown, type: string, helper: string): void {
  if (typeof value !== type) throw new TypeError(`${helper}: expected a ${type}, got ${value === null ? 'null' : typeof value}`);
}

/** A String literal. Lone UTF-16 surrogates are refused: they could not round-trip through UTF-8. */
export function str(value: string): Sql {
  assertType(value, 'string', 'str');
  if (!value.isWellFormed()) throw new TypeError('str: string contains a lone surrogate and is not valid Unicode');
  return trusted(`'${escapeStringBody(value)}'`);
}

/** An integer literal (safe-integer numbers or bigints). */
export function int(value: number | bigint): Sql {
  if (typeof value === 'bigint') return trusted(value.toString());
  assertType(value, 'number', 'int');
  if (!Number.isSafeInteger(value)) throw new RangeError(`int: ${value} is not a safe integer`);
  return trusted(String(value));
}

/** A Float64 literal; NaN and ±Infinity are refused. */
export function float(value: number): Sql {
  assertType(value, 'number', 'float');
  if (!Number.isFinite(value)) throw new RangeError(`float: ${value} is not a finite number`);
  return trusted(`toFloat64(${String(value)})`);
}

export function bool(value: boolean): Sql {
  assertType(value, 'boolean', 'bool');
  return trusted(value ? '1' : '0');
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The days a ClickHouse Date holds on every supported release; outside them values wrap silently. */
export const FIRST_DAY = '1970-01-01';
export const LAST_DAY = '2105-12-31';
/** The last second a DateTime (UInt32 seconds) holds. */
const LAST_DATETIME_MS = (2 ** 32 - 1) * 1000;

function assertValidDate(value: Date, helper: string): void {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new TypeError(`${helper}: expected a valid Date`);
}

function assertInRange(value: Date, last: number, helper: string): void {
  if (value.getTime() < 0 || value.getTime() > last) throw new RangeError(`${helper}: ${value.toISOString()} is outside what ClickHouse can hold`);
}

/** A Date literal from a UTC calendar day: a 'YYYY-MM-DD' string that is a real date, or a Date. */
export function date(value: string | Date): Sql {
  const day = typeof value === 'string' ? parseIsoDate(value) : value;
  assertValidDate(day, 'date');
  assertInRange(day, Date.parse(`${LAST_DAY}T00:00:00Z`), 'date');
  return trusted(`toDate('${day.toISOString().slice(0, 10)}')`);
}

/** A DateTime('UTC') literal, second precision. */
export function dateTime(value: Date): Sql {
  assertValidDate(value, 'dateTime');
  assertInRange(value, LAST_DATETIME_MS, 'dateTime');
  return trusted(`toDateTime('${formatDateTime(value)}', 'UTC')`);
}

/** An Array literal of already-bound values, e.g. array(codes.map(str)). */
export function array(values: Sql[]): Sql {
  if (!Array.isArray(values)) throw new TypeError('array: expected an array of Sql values');
  return trusted(`[${join(values, ', ').text}]`);
}

/** A database, table or column name; only plain identifiers are accepted. */
export function ident(name: string): Sql {
  assertType(name, 'string', 'ident');
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new TypeError(`ident: ${JSON.stringify(name)} is not a plain identifier`);
  return trusted(`\`${name}\``);
}

/**
 * A column type without LowCardinality(...), for servers that refuse it (ClickHouse 18.16 without
 * allow_experimental_low_cardinality_type). Types come from table specs in this codebase.
 */
export function withoutLowCardinality(type: Sql): Sql {
  return trusted(type.text.replace(/LowCardinality\((\w+(?:\([^()]*\))?)\)/g, '$1'));
}

/**
 * A column type as system.columns reports it (`UInt64`, `Nullable(DateTime('UTC'))`), to restate
 * it in DDL; anything but type syntax is refused.
 */
export function columnType(type: string): Sql {
  assertType(type, 'string', 'columnType');
  if (!/^[A-Za-z][A-Za-z0-9_]*(\([A-Za-z0-9_(), '/+-]*\))?$/.test(type)) throw new TypeError(`columnType: ${JSON.stringify(type)} is not a column type`);
  return trusted(type);
}

/**
 * The Replicated form of a MergeTree-family engine clause written in code (`ReplacingMergeTree(ver)`),
 * with its ZooKeeper path (a string literal) and the server's {replica} macro first.
 */
export function replicatedEngine(engine: Sql, zooKeeperPath: string): Sql {
  const match = /^(\w*MergeTree)(?:\((.*)\))?$/s.exec(engine.text.trim());
  if (!match) throw new Error(`cannot replicate engine ${engine.text}`);
  const args = match[2]?.trim() ? `, ${match[2].trim()}` : '';
  return trusted(`Replicated${match[1]}(${str(zooKeeperPath).text}, '{replica}'${args})`);
}

export function join(parts: Sql[], separator: ', ' | ' AND ' | ' OR ' | '\n'): Sql {
  parts.forEach((part, index) => {
    if (!(part instanceof Sql)) throw new TypeError(`join: part #${index + 1} is not a Sql value`);
  });
  return trusted(parts.map((part) => part.text).join(separator));
}

/** Whether a 'YYYY-MM-DD' string is a real calendar day that a ClickHouse Date can hold. */
export function isStorableIsoDate(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    parseIsoDate(value);
  } catch {
    return false;
  }
  return value >= FIRST_DAY && value <= LAST_DAY;
}

/** Parses 'YYYY-MM-DD' as a UTC day, refusing impossible dates such as 2026-02-30. */
export function parseIsoDate(value: string): Date {
  assertType(value, 'string', 'date');
  const match = ISO_DATE.exec(value);
  const parsed = match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : undefined;
  if (!parsed || parsed.toISOString().slice(0, 10) !== value) throw new RangeError(`date: ${JSON.stringify(value)} is not a YYYY-MM-DD date`);
  return parsed;
}

/** 'YYYY-MM-DD hh:mm:ss' in UTC: the text form ClickHouse DateTime('UTC') columns read and write. */
export function formatDateTime(value: Date): string {
  return value.toISOString().slice(0, 19).replace('T', ' ');
}
