import { isURL } from 'class-validator';
import { z } from 'zod';

/**
 * One environment variable: its name, the raw default (what .env.example shows; parsed like a set
 * value, so defaults are validated too), the schema that checks and converts it, and what it means.
 */
export interface Setting<Value = unknown> {
  readonly variable: string;
  readonly fallback: string | undefined;
  readonly schema: z.ZodType<Value, string | undefined>;
  readonly doc: string;
}

/** Settings grouped as the typed configuration reads them. */
export interface SettingTree {
  readonly [key: string]: Setting | SettingTree;
}

/** The typed values of a tree of settings, in the tree's shape. */
export type SettingValues<Tree> = { -readonly [Key in keyof Tree]: Tree[Key] extends Setting<infer Value> ? Value : SettingValues<Tree[Key]> };

export const isSetting = (node: Setting | SettingTree): node is Setting => typeof (node as Setting).variable === 'string';

export function setting<Value>(variable: string, fallback: string | undefined, schema: z.ZodType<Value, string | undefined>, doc: string): Setting<Value> {
  return { variable, fallback, schema, doc };
}

/** A comma-separated setting as its items, blanks dropped. */
export const splitList = (value: string) => value.split(',').map((item) => item.trim()).filter(Boolean);

const present = z.string({ error: 'is required' });

/** A whole number within bounds. */
export const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  present.regex(/^\s*-?\d+\s*$/, `must be a whole number from ${min} to ${max}`).transform(Number).pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];

export const bool = () =>
  present.transform((value, context) => {
    const normalized = value.trim().toLowerCase();
    if (TRUE.includes(normalized) || FALSE.includes(normalized)) return TRUE.includes(normalized);
    context.addIssue({ code: 'custom', message: 'must be true or false' });
    return z.NEVER;
  });

export const oneOf = <const Values extends readonly [string, ...string[]]>(values: Values) =>
  present.refine((value): value is Values[number] => values.includes(value), `must be one of: ${values.join(', ')}`) as unknown as z.ZodType<Values[number], string | undefined>;

export const text = () => present;

/** Unset stays undefined; set, it must pass `schema`. */
export const optional = <Value>(schema: z.ZodType<Value, string>): z.ZodType<Value | undefined, string | undefined> => schema.optional();

export const matching = (pattern: RegExp, message: string) => present.regex(pattern, message);

export const atLeastChars = (length: number) => present.min(length, `must be at least ${length} characters`);

/** Host names such as docker compose's `clickhouse_1` have underscores. */
const urlOptions = (protocols: string[]) => ({ require_tld: false, protocols, require_protocol: true, allow_underscores: true });

export const url = (protocols: string[], example: string) => present.refine((value) => isURL(value, urlOptions(protocols)), `must be a ${protocols.join(':// or ')}:// URL such as ${example}`);

export const urlList = (message: string) => present.transform(splitList).refine((urls) => urls.length > 0 && urls.every((item) => isURL(item, urlOptions(['http', 'https']))), message);

export const list = () => present.transform(splitList);
