import { findJsonProblem } from './untrusted-json.js';

describe(findJsonProblem.name, () => {
  it('should pass ordinary values', () => {
    expect(findJsonProblem({ email: 'a@b.c', codes: ['000001.SZ', '平安😀'], n: 1, nested: { ok: [true, null] } })).toBeUndefined();
    expect(findJsonProblem('plain')).toBeUndefined();
    expect(findJsonProblem(undefined)).toBeUndefined();
  });

  it('should name the first field holding a lone surrogate, keys included', () => {
    expect(findJsonProblem({ a: 'ok', b: { c: ['x', 'y\ud800'] } })).toEqual({ field: 'b.c[1]', message: 'b.c[1] is not valid Unicode text (it contains a lone surrogate)' });
    expect(findJsonProblem({ ['k\udfff']: 1 })).toEqual({ field: 'k\ufffd', message: 'k\ufffd is not valid Unicode text (it contains a lone surrogate)' });
    expect(findJsonProblem('\ud800')?.field).toBe('(value)');
  });

  it('should refuse nesting deeper than 32 levels without overflowing the stack itself', () => {
    const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)) as unknown;
    expect(findJsonProblem(deep)?.message).toMatch(/is nested more than 32 levels deep$/);
    const justDeepEnough = JSON.parse('['.repeat(32) + '1' + ']'.repeat(32)) as unknown;
    expect(findJsonProblem(justDeepEnough)).toBeUndefined();
  });

  it('should read prototype-less objects, as query parsers build them', () => {
    const query = Object.assign(Object.create(null) as Record<string, unknown>, { tool_name: 'x\ud800' });
    expect(findJsonProblem(query)?.field).toBe('tool_name');
  });
});
