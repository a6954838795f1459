import type { ClickHouseClient } from '@clickhouse/client';
import { queryRows, rawClient } from '../../test/support/clickhouse.js';
import { Sql, array, bool, date, dateTime, float, ident, int, isStorableIsoDate, join, parseIsoDate, replicatedEngine, sql, str } from './sql.js';

describe('sql binding helper', () => {
  describe('rendering', () => {
    it('should render each typed literal', () => {
      expect(str("it's").text).toBe("'it\\'s'");
      expect(str('a\\b').text).toBe("'a\\\\b'");
      expect(str('line\nnext\ttab\0nul').text).toBe("'line\\x0Anext\\x09tab\\x00nul'");
      expect(int(42).text).toBe('42');
      expect(int(-7n).text).toBe('-7');
      expect(float(1.5).text).toBe('toFloat64(1.5)');
      expect(bool(true).text).toBe('1');
      expect(date('2026-02-28').text).toBe("toDate('2026-02-28')");
      expect(dateTime(new Date('2026-11-25T10:11:12.999Z')).text).toBe("toDateTime('2026-11-25 10:11:12', 'UTC')");
      expect(array(['a', 'b'].map(str)).text).toBe("['a', 'b']");
      expect(ident('ods_daily').text).toBe('`ods_daily`');
      expect(join([sql`a = ${int(1)}`, sql`b = ${str('x')}`], ' AND ').text).toBe("a = 1 AND b = 'x'");
    });

    it('should build statements only from bound values', () => {
      const statement = sql`SELECT * FROM t WHERE code = ${str("x' OR 1=1 --")} LIMIT ${int(5)}`;
      expect(statement).toBeInstanceOf(Sql);
      expect(statement.text).toBe("SELECT * FROM t WHERE code = 'x\\' OR 1=1 --' LIMIT 5");
    });

    it('should reject a raw string interpolation at run time', () => {
      const raw = "'; DROP TABLE users; --" as unknown as Sql;
      expect(() => sql`SELECT ${raw}`).toThrow(/interpolation #1 is a string/);
      expect(() => join([raw], ', ')).toThrow(/part #1 is not a Sql value/);
    });

    it.each([
      ['int with a fraction', () => int(1.5)],
      ['int beyond 2^53', () => int(2 ** 53)],
      ['int from a string', () => int('1' as unknown as number)],
      ['NaN', () => float(Number.NaN)],
      ['Infinity', () => float(Number.POSITIVE_INFINITY)],
      ['str from a number', () => str(5 as unknown as string)],
      ['str with a lone surrogate', () => str('bad \uD800 text')],
      ['bool from a number', () => bool(1 as unknown as boolean)],
      ['an impossible date', () => date('2026-02-30')],
      ['a date in another format', () => date('20260101')],
      ['a date before 1970', () => date('1969-12-31')],
      ['a date after 2105', () => date('2106-01-01')],
      ['a date-time after the last DateTime second', () => dateTime(new Date('2106-02-07T06:28:16Z'))],
      ['a date-time before 1970', () => dateTime(new Date('1969-12-31T23:59:59Z'))],
      ['an invalid Date', () => dateTime(new Date('nope'))],
      ['an identifier with a backquote', () => ident('a`b')],
      ['an identifier with a space', () => ident('users; DROP')],
    ])('should reject %s', (_name, render) => {
      expect(render).toThrow();
    });

    it('should accept the last day and second ClickHouse can hold', () => {
      expect(date('2105-12-31').text).toBe("toDate('2105-12-31')");
      expect(dateTime(new Date('2106-02-07T06:28:15Z')).text).toBe("toDateTime('2106-02-07 06:28:15', 'UTC')");
    });

    it.each([
      ['1970-01-01', true],
      ['2105-12-31', true],
      ['1969-12-31', false],
      ['2106-01-01', false],
      ['9999-12-31', false],
      ['2026-02-30', false],
      [20260101, false],
    ])('should tell whether %s is a storable ISO date', (value, storable) => {
      expect(isStorableIsoDate(value)).toBe(storable);
    });

    it('should parse ISO dates as UTC days', () => {
      expect(parseIsoDate('2024-02-29').toISOString()).toBe('2024-02-29T00:00:00.000Z');
      expect(() => parseIsoDate('2023-02-29')).toThrow(/not a YYYY-MM-DD date/);
    });
  });

  describe('against ClickHouse', () => {
    let client: ClickHouseClient;

    beforeAll(() => {
      client = rawClient();
    });

    afterAll(async () => {
      await client.close();
    });

    const roundTrip = async (value: string) => {
      const [row] = await queryRows<{ value: string; bytes: string }>(
        client,
        sql`SELECT ${str(value)} AS value, length(${str(value)}) AS bytes`.text,
      );
      return row;
    };

    it.each([
      ['quotes', `single ' double " back \``],
      ['backslashes', 'C:\\path\\to\\file \\n is not a newline \\'],
      ['a NUL byte', 'before\0after'],
      ['newlines, tabs and carriage returns', 'a\nb\r\nc\td\u000be\u007f'],
      ['every control character', Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join('')],
      ['unicode and emoji', '平安银行 Ünïcødé 😀👍🏽 עברית'],
      ['an injection attempt', "'; DROP TABLE x; --"],
      ['an escape-sequence injection', "\\'; SELECT 1; --"],
    ])('should round-trip %s exactly', async (_name, value) => {
      const row = await roundTrip(value);
      expect(row.value).toBe(value);
      expect(Number(row.bytes)).toBe(Buffer.byteLength(value, 'utf8'));
    });

    it('should round-trip a 100 kB string exactly', async () => {
      const value = "x'\\\n😀".repeat(12_500);
      expect(Buffer.byteLength(value)).toBe(100_000);
      const [row] = await queryRows<{ value: string }>(client, sql`SELECT ${str(value)} AS value`.text);
      expect(row.value).toBe(value);
    });

    it('should send numbers, dates and arrays as typed values', async () => {
      const [row] = await queryRows<Record<string, unknown>>(
        client,
        sql`SELECT ${int(-42)} AS i, ${float(0.1)} AS f, ${date('2024-02-29')} AS d,
          ${dateTime(new Date('2026-11-25T23:59:59Z'))} AS dt, ${array(['a', "b'c"].map(str))} AS arr,
          toTypeName(${date('2024-02-29')}) AS dtype`.text,
      );
      expect(row).toEqual({ i: -42, f: 0.1, d: '2024-02-29', dt: '2026-11-25 23:59:59', arr: ['a', "b'c"], dtype: 'Date' });
    });
  });

  describe('replicatedEngine', () => {
    it('should give the Replicated form of a MergeTree-family engine, its path quoted and the replica macro first', () => {
      expect(replicatedEngine(sql`ReplacingMergeTree(updated_at)`, "/clickhouse/tables/{shard}/db.t'x").text).toBe(
        "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db.t\\'x', '{replica}', updated_at)",
      );
      expect(replicatedEngine(sql`MergeTree()`, '/p').text).toBe("ReplicatedMergeTree('/p', '{replica}')");
      expect(() => replicatedEngine(sql`Memory`, '/p')).toThrow('cannot replicate engine Memory');
    });
  });
});
