import { z } from 'zod';
import { csvText, fieldsArg, selectFields } from './result-format.js';

describe(csvText.name, () => {
  it('should write a header line and one line per row, null and missing values empty', () => {
    const rows = [
      { trade_date: '2026-11-20', close: 10.5, pe: null },
      { trade_date: '2026-11-23', close: -0.25 },
    ];
    expect(csvText(rows, ['trade_date', 'close', 'pe'])).toBe('trade_date,close,pe\n2026-11-20,10.5,\n2026-11-23,-0.25,');
  });

  it('should quote fields holding commas, quotes or line breaks, doubling the quotes', () => {
    const rows = [{ name: 'a,b', industry: 'say "hi"', area: 'two\nlines', market: 'cr\rhere', symbol: ' plain ' }];
    expect(csvText(rows, ['name', 'industry', 'area', 'market', 'symbol'])).toBe('name,industry,area,market,symbol\n"a,b","say ""hi""","two\nlines","cr\rhere", plain ');
  });

  it('should quote a header that needs it and give the header alone for no rows', () => {
    expect(csvText([], ['a,b', 'c'])).toBe('"a,b",c');
  });

  it('should write booleans and integers as JSON does', () => {
    expect(csvText([{ is_open: true, n: 3 }], ['is_open', 'n'])).toBe('is_open,n\ntrue,3');
  });
});

describe(selectFields.name, () => {
  const rows = [{ ts_code: '000001.SZ', trade_date: '2026-11-20', close: 10.5 }];

  it('should keep the chosen columns in the chosen order', () => {
    const [row] = selectFields(rows, ['close', 'trade_date']);
    expect(Object.entries(row)).toEqual([
      ['close', 10.5],
      ['trade_date', '2026-11-20'],
    ]);
  });

  it('should give null for a column the row lacks and keep rows as they are without fields', () => {
    expect(selectFields(rows, ['amount'])).toEqual([{ amount: null }]);
    expect(selectFields(rows, undefined)).toBe(rows);
  });
});

describe(fieldsArg.name, () => {
  const schema = z.object({ fields: fieldsArg(['trade_date', 'close'], { pattern: /^ma\d{1,3}$/, hint: 'ma<N>' }) });
  const issues = (fields: unknown) => {
    const parsed = schema.safeParse({ fields });
    return parsed.success ? [] : parsed.error.issues.map((issue) => [issue.path.join('.'), issue.message]);
  };

  it('should accept known columns and names of the extra shape', () => {
    expect(schema.parse({ fields: ['close', 'ma20'] })).toEqual({ fields: ['close', 'ma20'] });
    expect(schema.parse({})).toEqual({});
  });

  it('should name an unknown field and what is allowed', () => {
    expect(issues(['close', 'clos'])).toEqual([['fields.1', 'Unknown field "clos": expected one of trade_date, close or ma<N>']]);
    expect(issues(['ma'])).toEqual([['fields.0', 'Unknown field "ma": expected one of trade_date, close or ma<N>']]);
  });

  it('should refuse an empty list, a repeated field and a non-list', () => {
    expect(issues([])).toEqual([['fields', 'Too small: expected array to have >=1 items']]);
    expect(issues(['close', 'close'])).toEqual([['fields', 'Each field may be named once']]);
    expect(issues('close')).toEqual([['fields', 'Invalid input: expected array, received string']]);
  });
});
