/** Deepest nesting a request value may have; real bodies and tool arguments need two or three levels. */
export const MAX_JSON_DEPTH = 32;

export interface JsonProblem {
  /** Where: `email`, `codes[2]`, `(value)` for the value itself. */
  field: string;
  message: string;
}

/**
 * The first problem in a parsed JSON value that no validator should have to meet: text that is
 * not well-formed Unicode (`"\ud800"` parses into a lone surrogate, which cannot be encoded as
 * UTF-8, so ClickHouse can neither store nor compare it), or nesting deeper than MAX_JSON_DEPTH
 * (recursive validators overflow the stack on thousands of levels). Iterative, so the check itself
 * cannot overflow.
 */
export function findJsonProblem(root: unknown): JsonProblem | undefined {
  const pending: [unknown, string, number][] = [[root, '', 0]];
  while (pending.length > 0) {
    const [value, path, depth] = pending.pop()!;
    const field = path || '(value)';
    if (typeof value === 'string') {
      if (!value.isWellFormed()) return { field, message: `${field} is not valid Unicode text (it contains a lone surrogate)` };
      continue;
    }
    const children = childrenOf(value, path);
    if (children.length === 0) continue;
    if (depth >= MAX_JSON_DEPTH) return { field, message: `${field} is nested more than ${MAX_JSON_DEPTH} levels deep` };
    for (let index = children.length - 1; index >= 0; index--) {
      const [childPath, child, key] = children[index];
      if (key !== undefined && !key.isWellFormed()) return { field: childPath, message: `${childPath} is not valid Unicode text (it contains a lone surrogate)` };
      pending.push([child, childPath, depth + 1]);
    }
  }
  return undefined;
}

/** [path, value, key] of each element of an array or entry of a plain object. */
function childrenOf(value: unknown, path: string): [string, unknown, string | undefined][] {
  if (Array.isArray(value)) return value.map((item, index) => [`${path}[${index}]`, item, undefined]);
  if (!isPlainObject(value)) return [];
  return Object.entries(value).map(([key, item]) => [path ? `${path}.${key.toWellFormed()}` : key.toWellFormed(), item, key]);
}

/** JSON objects, and the prototype-less objects query-string parsers build. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
