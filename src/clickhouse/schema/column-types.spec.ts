import { familyOf, unwrapType } from './column-types.js';

describe(familyOf.name, () => {
  it.each([
    ['String', 'string'],
    ['LowCardinality(String)', 'string'],
    ['LowCardinality(Nullable(String))', 'string'],
    ['UInt8', 'integer'],
    ['Int64', 'integer'],
    ['Nullable(Float64)', 'float'],
    ['Decimal(18, 4)', 'float'],
    ['Date', 'date'],
    ['DateTime', 'datetime'],
    ["DateTime('UTC')", 'datetime'],
    ["Nullable(DateTime('Asia/Shanghai'))", 'datetime'],
    ['Array(String)', undefined],
    ["Enum8('a' = 1)", undefined],
    ['FixedString(9)', undefined],
  ])('should read %s as %s', (type, family) => {
    expect(familyOf(type)).toBe(family);
  });

  it('should tell nullable types', () => {
    expect(unwrapType('LowCardinality(Nullable(String))')).toEqual({ base: 'String', nullable: true });
    expect(unwrapType('Nullable(Float64)')).toEqual({ base: 'Float64', nullable: true });
    expect(unwrapType('UInt8')).toEqual({ base: 'UInt8', nullable: false });
  });
});
