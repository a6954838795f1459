import type { ColumnFamily } from './table-spec.js';

const WRAPPER = /^(Nullable|LowCardinality)\((.*)\)$/;

/** The type inside Nullable(...) and LowCardinality(...), and whether it is nullable. */
export function unwrapType(type: string): { base: string; nullable: boolean } {
  let base = type.trim();
  let nullable = false;
  for (let match = WRAPPER.exec(base); match; match = WRAPPER.exec(base)) {
    if (match[1] === 'Nullable') nullable = true;
    base = match[2].trim();
  }
  return { base, nullable };
}

const FAMILIES: [ColumnFamily, RegExp][] = [
  ['string', /^String$/],
  ['integer', /^U?Int(8|16|32|64)$/],
  ['float', /^(Float32|Float64|Decimal(32|64|128)?\(.*\))$/],
  ['date', /^Date$/],
  ['datetime', /^DateTime(64)?(\(.*\))?$/],
];

/** The family of a ClickHouse type as system.columns spells it; undefined for anything else (arrays, enums, ...). */
export function familyOf(type: string): ColumnFamily | undefined {
  const { base } = unwrapType(type);
  return FAMILIES.find(([, pattern]) => pattern.test(base))?.[0];
}
