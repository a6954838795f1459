import type { ClickHouseClient } from '@clickhouse/client';
import fc from 'fast-check';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { sql, str } from '../src/clickhouse/sql.js';
import { queryRows, rawClient } from './support/clickhouse.js';
import { connectSdkClient, createApiKey } from './support/mcp.js';
import { type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';
import { waitForCount } from './support/usage-log.js';

type Row = Record<string, unknown>;

interface ToolOutput {
  table: string;
  row_count: number;
  truncated: boolean;
  rows: Row[];
}

interface ToolResult {
  isError?: boolean;
  content: { type: string; text: string }[];
  structuredContent?: ToolOutput;
}

const CODE = '600519.SH';
const PERIOD_START = { W: 'toMonday', M: 'toStartOfMonth' } as const;

/**
 * Weekly or monthly bars of the days in `table` (one stock's newest rows, or the tool's own
 * adjusted daily bars), with pre_close and moving averages, written independently of the tool's
 * SQL: first/last by sorting arrays, the series through arrays, the means in whole cents.
 */
function independentPeriods(table: string, freq: 'W' | 'M', code: string, endDate: string, windows: number[]): string {
  const ma = windows.map((n) => `, if(i < ${n}, NULL, intDiv(2 * arraySum(arraySlice(cents, i - ${n - 1}, ${n})) + ${n}, ${2 * n}) / 100) AS ma${n}`).join('');
  return `SELECT toString(day) AS trade_date, o AS open, h AS high, l AS low, c AS close, if(i = 1, NULL, closes[i - 1]) AS pre_close, v AS vol, a AS amount${ma}
    FROM (
      SELECT groupArray(day) AS days, groupArray(o) AS opens, groupArray(h) AS highs, groupArray(l) AS lows, groupArray(c) AS closes,
        groupArray(v) AS vols, groupArray(a) AS amounts, arrayMap(x -> toInt64(round(x * 100)), groupArray(c)) AS cents
      FROM (
        SELECT max(trade_date) AS day, arraySort((p, d) -> d, groupArray(open), groupArray(trade_date))[1] AS o, max(high) AS h, min(low) AS l,
          arrayReverseSort((p, d) -> d, groupArray(close), groupArray(trade_date))[1] AS c, round(sum(vol), 3) AS v, round(sum(amount), 3) AS a
        FROM ${table} WHERE ts_code = ${str(code).text} AND trade_date <= '${endDate}'
        GROUP BY ${PERIOD_START[freq]}(trade_date) ORDER BY day
      )
    ) ARRAY JOIN days AS day, opens AS o, highs AS h, lows AS l, closes AS c, vols AS v, amounts AS a, arrayEnumerate(days) AS i
    ORDER BY day`;
}

/** The moving averages of daily closes given in whole cents by `closes` (trade_date, cents), from `start` on, in whole cents with arrays. */
function independentDailyMa(closes: string, windows: number[], start: string): string {
  const ma = windows.map((n) => `, if(i < ${n}, NULL, intDiv(2 * arraySum(arraySlice(cents, i - ${n - 1}, ${n})) + ${n}, ${2 * n}) / 100) AS ma${n}`).join('');
  return `SELECT toString(day) AS trade_date${ma}
    FROM (SELECT groupArray(trade_date) AS days, groupArray(cents) AS cents FROM (${closes} ORDER BY trade_date))
    ARRAY JOIN days AS day, arrayEnumerate(days) AS i
    WHERE day >= '${start}' ORDER BY day`;
}

/** pro_bar's change and pct_chg from close and pre_close, 2 decimals, as a person would check them. */
const withChange = (row: Row): Row => {
  const close = row.close as number;
  const preClose = row.pre_close as number | null;
  return {
    ...row,
    change: preClose === null ? null : Number((close - preClose).toFixed(2)),
    pct_chg: preClose === null ? null : Number((((close - preClose) / preClose) * 100).toFixed(2)),
  };
};

/** The tool's rows with the columns the independent query gives, in its order. */
const like = (rows: Row[], expected: Row[]) => rows.map((row) => Object.fromEntries(Object.keys(expected[0]).map((key) => [key, row[key]])));

describe('Agent arguments of the stock tools: freq, ma, fields, format (e2e)', () => {
  let app: TestApp;
  let client: Client;
  let clickhouse: ClickHouseClient;
  let lastDay: string;
  /** The Wednesday re-ingested with a higher version. */
  let reingested: string;
  /** A stock whose adj_factor changes inside a week (an ex-dividend day after a Monday). */
  let adjustedCode: string;

  const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as unknown as ToolResult;
  const rowsOf = async (name: string, args: Record<string, unknown>) => {
    const result = await call(name, args);
    if (result.isError) throw new Error(result.content[0].text);
    return result.structuredContent!.rows;
  };
  const query = <T = Row>(text: string) => queryRows<T>(clickhouse, text);

  beforeAll(async () => {
    app = await startTestApp({ DEMO_DATA: 'true', USAGE_FLUSH_INTERVAL_MS: '50' });
    const user = await registerAndLogin(app);
    const key = await createApiKey(app, user.jwt, { key_name: 'agent-args' });
    client = await connectSdkClient(app, key.api_key);
    clickhouse = rawClient(app.database, app.clickhouseUrl);
    [{ day: lastDay }] = await query<{ day: string }>(`SELECT toString(max(trade_date)) AS day FROM ods_daily`);
    // A day re-ingested with corrected values (a newer version): its week must be built from this row.
    [{ day: reingested }] = await query<{ day: string }>(
      `SELECT toString(max(trade_date)) AS day FROM ods_daily WHERE ts_code = '${CODE}' AND toDayOfWeek(trade_date) = 3 AND trade_date < toDate('${lastDay}') - 60`,
    );
    const [old] = await query<Row & { version: number }>(`SELECT * FROM ods_daily FINAL WHERE ts_code = '${CODE}' AND trade_date = '${reingested}'`);
    const corrected = { ...old, high: (old.high as number) * 1.5, close: (old.close as number) + 1, vol: (old.vol as number) + 5000, version: old.version + 1 };
    // Merges stopped: both versions stay rows of their own, as an unmerged re-ingest leaves them.
    await clickhouse.command({ query: 'SYSTEM STOP MERGES ods_daily' });
    await clickhouse.insert({ table: 'ods_daily', values: [corrected], format: 'JSONEachRow' });
    const [stored] = await query<{ n: string }>(`SELECT count() AS n FROM ods_daily WHERE ts_code = '${CODE}' AND trade_date = '${reingested}'`);
    expect(Number(stored.n)).toBe(2);
    [{ ts_code: adjustedCode }] = await query<{ ts_code: string }>(
      `SELECT ts_code FROM (SELECT ts_code, toMonday(trade_date) AS week, uniqExact(adj_factor) AS factors FROM ods_adj_factor FINAL GROUP BY ts_code, week) WHERE factors > 1 ORDER BY ts_code LIMIT 1`,
    );
  });

  afterAll(async () => {
    await client.close();
    await clickhouse.close();
    await app.stop();
  });

  describe('freq', () => {
    it.each(['W', 'M'] as const)('should give %s bars equal to an independent aggregation of the newest rows, re-ingested day included', async (freq) => {
      const start = freq === 'W' ? reingested : `${reingested.slice(0, 7)}-01`;
      const rows = await rowsOf('get_daily_bars', { ts_code: CODE, freq, start_date: start, end_date: lastDay });
      const expected = (await query(independentPeriods('ods_daily FINAL', freq, CODE, lastDay, []))).filter((row) => String(row.trade_date) >= start).map(withChange);
      expect(rows.length).toBe(expected.length);
      expect(rows.length).toBeGreaterThan(freq === 'W' ? 8 : 2);
      expect(like(rows, expected)).toEqual(expected);
      expect(Object.keys(rows[0])).toEqual(['ts_code', 'trade_date', 'open', 'high', 'low', 'close', 'pre_close', 'change', 'pct_chg', 'vol', 'amount']);
      // The corrected row counts, the replaced one does not.
      const [corrected] = await query<{ high: number }>(`SELECT high FROM ods_daily FINAL WHERE ts_code = '${CODE}' AND trade_date = '${reingested}'`);
      expect(rows[0].high).toBe(corrected.high);
    });

    it('should cover a whole first period before start_date and end the last one at end_date', async () => {
      // start_date and end_date on the re-ingested Wednesday: its bar runs from the Monday before up to that day.
      const [week] = await rowsOf('get_daily_bars', { ts_code: CODE, freq: 'W', start_date: reingested, end_date: reingested });
      const days = await rowsOf('get_daily_bars', { ts_code: CODE, start_date: mondayOf(reingested), end_date: reingested });
      expect(days.length).toBeGreaterThan(1);
      expect(week).toMatchObject({
        trade_date: reingested,
        open: days[0].open,
        high: Math.max(...days.map((day) => day.high as number)),
        low: Math.min(...days.map((day) => day.low as number)),
        close: days.at(-1)!.close,
        vol: Number(days.reduce((sum, day) => sum + (day.vol as number), 0).toFixed(3)),
      });
    });

    it('should adjust per day first: qfq/hfq W and M bars equal an aggregation of the tool\'s own adjusted daily bars', async () => {
      for (const adjust of ['qfq', 'hfq'] as const) {
        const daily = await rowsOf('get_daily_bars', { ts_code: adjustedCode, adjust, end_date: lastDay });
        // The series crosses ex-dividend days inside a week: per-period adjustment would differ from per-day.
        const factorsByWeek = new Map<string, Set<unknown>>();
        for (const bar of daily) factorsByWeek.set(mondayOf(String(bar.trade_date)), (factorsByWeek.get(mondayOf(String(bar.trade_date))) ?? new Set()).add(bar.adj_factor));
        expect([...factorsByWeek.values()].some((factors) => factors.size > 1)).toBe(true);

        // Prices go in as whole cents: ClickHouse 18.16 parses 7.94 as 7.9399999999999995, not as the double the tool wrote.
        const stored = `adjusted_${adjust}`;
        await clickhouse.command({
          query: `CREATE TABLE ${stored} (ts_code String, trade_date Date, open Int64, high Int64, low Int64, close Int64, vol Float64, amount Float64) ENGINE = Memory`,
        });
        const cents = (price: unknown) => Math.round((price as number) * 100);
        await clickhouse.insert({
          table: stored,
          values: daily.map((bar) => ({ ...bar, open: cents(bar.open), high: cents(bar.high), low: cents(bar.low), close: cents(bar.close) })),
          format: 'JSONEachRow',
          clickhouse_settings: { input_format_skip_unknown_fields: 1 },
        });
        // Daily moving averages of adjusted closes count the adjusted bars before start_date.
        const start = String(daily[30].trade_date);
        const withMa = await rowsOf('get_daily_bars', { ts_code: adjustedCode, adjust, ma: [5, 20], start_date: start, end_date: lastDay });
        expect(withMa.map((row) => ({ trade_date: row.trade_date, ma5: row.ma5, ma20: row.ma20 }))).toEqual(
          await query(independentDailyMa(`SELECT trade_date, close AS cents FROM ${stored}`, [5, 20], start)),
        );
        const table = `(SELECT ts_code, trade_date, open / 100 AS open, high / 100 AS high, low / 100 AS low, close / 100 AS close, vol, amount FROM ${stored})`;
        for (const freq of ['W', 'M'] as const) {
          const rows = await rowsOf('get_daily_bars', { ts_code: adjustedCode, adjust, freq, ma: [3], end_date: lastDay });
          const expected = (await query(independentPeriods(table, freq, adjustedCode, lastDay, [3]))).map(withChange);
          expect(like(rows, expected)).toEqual(expected);
          expect(rows.at(-1)!.adj_factor).toBe(daily.at(-1)!.adj_factor);
        }
      }
    });
  });

  describe('ma', () => {
    it('should add exact moving averages of daily closes, counting bars before start_date', async () => {
      const start = reingested;
      const rows = await rowsOf('get_daily_bars', { ts_code: CODE, start_date: start, end_date: lastDay, ma: [5, 20] });
      const closes = `SELECT trade_date, toInt64(round(close * 100)) AS cents FROM ods_daily FINAL WHERE ts_code = '${CODE}' AND trade_date <= '${lastDay}'`;
      const expected = await query<Row>(independentDailyMa(closes, [5, 20], start));
      expect(rows.map((row) => ({ trade_date: row.trade_date, ma5: row.ma5, ma20: row.ma20 }))).toEqual(expected);
      expect(rows[0].ma20).not.toBeNull();
    });

    it('should give null while fewer than N bars exist', async () => {
      const [first] = await query<{ day: string }>(`SELECT toString(min(trade_date)) AS day FROM ods_daily WHERE ts_code = '${CODE}'`);
      const rows = await rowsOf('get_daily_bars', { ts_code: CODE, freq: 'M', ma: [3], fields: ['trade_date', 'close', 'ma3'], end_date: lastDay });
      expect(rows.slice(0, 3).map((row) => row.ma3)).toEqual([null, null, Math.round(((rows[0].close as number) + (rows[1].close as number) + (rows[2].close as number)) * 100 / 3) / 100]);
      expect(String(rows[0].trade_date).slice(0, 7)).toBe(first.day.slice(0, 7));
    });
  });

  describe('fields and format', () => {
    it('should return the chosen columns in that order, as JSON text by default', async () => {
      const result = await call('get_daily_bars', { ts_code: CODE, start_date: reingested, end_date: reingested, fields: ['close', 'trade_date'] });
      expect(result.structuredContent).toEqual({ table: 'ods_daily', row_count: 1, truncated: false, rows: [{ close: expect.any(Number), trade_date: reingested }] });
      expect(Object.keys(result.structuredContent!.rows[0])).toEqual(['close', 'trade_date']);
      expect(JSON.parse(result.content[0].text)).toEqual(result.structuredContent);
    });

    it('should write csv text with a header line, structuredContent unchanged, on every stock tool', async () => {
      const csv = await call('search_stocks', { query: CODE, fields: ['ts_code', 'name', 'industry'], format: 'csv' });
      expect(csv.content[0].text).toBe('ts_code,name,industry\n600519.SH,贵州茅台,白酒');
      expect(csv.structuredContent!.rows).toEqual([{ ts_code: CODE, name: '贵州茅台', industry: '白酒' }]);
      const calendar = await call('get_trade_calendar', { start_date: lastDay, end_date: lastDay, format: 'csv', fields: ['cal_date', 'is_open'] });
      expect(calendar.content[0].text).toBe(`cal_date,is_open\n${lastDay},1`);
      const latest = await call('get_latest_bars', { ts_codes: [CODE], format: 'csv', fields: ['trade_date'] });
      expect(latest.content[0].text).toBe(`trade_date\n${lastDay}`);
      const basic = await call('get_daily_basic', { ts_code: CODE, start_date: '1990-01-01', end_date: '1990-12-31', format: 'csv' });
      expect(basic.content[0].text).toBe('ts_code,trade_date,close,turnover_rate,turnover_rate_f,volume_ratio,pe,pe_ttm,pb,ps,ps_ttm,dv_ratio,dv_ttm,total_share,float_share,free_share,total_mv,circ_mv');
    });

    it('should make a year of daily bars as csv well under the bytes of json, the same rows', async () => {
      const yearAgo = `${Number(lastDay.slice(0, 4)) - 1}${lastDay.slice(4)}`;
      const args = { ts_code: CODE, start_date: yearAgo, end_date: lastDay };
      const json = await call('get_daily_bars', args);
      const csv = await call('get_daily_bars', { ...args, format: 'csv' });
      const rows = json.structuredContent!.rows;
      expect(csv.structuredContent).toEqual(json.structuredContent);
      const lines = csv.content[0].text.split('\n');
      expect(lines.length).toBe(rows.length + 1);
      expect(lines[0]).toBe('ts_code,trade_date,open,high,low,close,pre_close,change,pct_chg,vol,amount');
      expect(lines[1]).toBe(Object.values(rows[0]).map((value) => (value === null ? '' : JSON.stringify(value).replace(/^"|"$/g, ''))).join(','));
      const jsonBytes = Buffer.byteLength(json.content[0].text);
      const csvBytes = Buffer.byteLength(csv.content[0].text);
      expect(csvBytes / jsonBytes).toBeLessThan(0.5);
      const closes = await call('get_daily_bars', { ...args, format: 'csv', fields: ['trade_date', 'close'] });
      expect(Buffer.byteLength(closes.content[0].text) / jsonBytes).toBeLessThan(0.15);
      const weekly = await call('get_daily_bars', { ...args, freq: 'W', format: 'csv' });
      expect(Buffer.byteLength(weekly.content[0].text) / jsonBytes).toBeLessThan(0.12);
    });
  });

  it('should meter what is returned: a weekly bar is one record', async () => {
    const user = await registerAndLogin(app);
    const key = await createApiKey(app, user.jwt, { key_name: 'agent-args-metering' });
    const metered = await connectSdkClient(app, key.api_key);
    try {
      const weekly = (await metered.callTool({ name: 'get_daily_bars', arguments: { ts_code: CODE, freq: 'W', start_date: reingested, end_date: lastDay } })) as unknown as ToolResult;
      const rowCount = weekly.structuredContent!.row_count;
      expect(rowCount).toBe(weekly.structuredContent!.rows.length);
      expect(rowCount).toBeLessThan(15);
      await waitForCount(app, key.key_id, 1);
      const records = await query<{ record_count: number }>(sql`SELECT record_count FROM mcp_tool_usage_log WHERE api_key_id = ${str(key.key_id)}`.text);
      expect(records.map((record) => Number(record.record_count))).toEqual([rowCount]);
    } finally {
      await metered.close();
    }
  });

  describe('bad arguments', () => {
    it.each([
      [{ ts_code: CODE, freq: 'Y' }, 'freq', 'Invalid option: expected one of "D"|"W"|"M"'],
      [{ ts_code: CODE, ma: [1] }, 'ma[0]', 'Too small: expected number to be >=2'],
      [{ ts_code: CODE, ma: [5, 10, 20, 30, 60, 120] }, 'ma', 'Too big: expected array to have <=5 items'],
      [{ ts_code: CODE, fields: ['close', 'closing'] }, 'fields[1]', 'Unknown field "closing": expected one of ts_code, trade_date, open, high, low, close, pre_close, change, pct_chg, vol, amount, adj_factor or ma<N> for a window N in ma'],
      [{ ts_code: CODE, fields: ['ma20'] }, 'fields[0]', 'Field ma20 needs 20 among the ma window lengths'],
      [{ ts_code: CODE, format: 'xml' }, 'format', 'Invalid option: expected one of "json"|"csv"'],
    ])('should refuse %j naming the argument', async (args, path, message) => {
      const result = await call('get_daily_bars', args);
      expect(result.isError).toBe(true);
      expect(result.content[0].text).toBe(`Invalid arguments for get_daily_bars:\n✖ ${message}\n  → at ${path}`);
    });

    it('should refuse a field another tool has', async () => {
      const result = await call('search_stocks', { fields: ['close'] });
      expect(result.content[0].text).toBe(
        'Invalid arguments for search_stocks:\n✖ Unknown field "close": expected one of ts_code, symbol, name, area, industry, market, list_date, delist_date, list_status\n  → at fields[0]',
      );
    });
  });

  it('should answer any mix of freq, ma, fields, format and range with rows or an error naming the argument (fuzz)', async () => {
    const bounded = fc.integer({ min: 0, max: 800 }).map((daysBack) => new Date(Date.parse(`${lastDay}T00:00:00Z`) - daysBack * 86_400_000).toISOString().slice(0, 10));
    const valid = <T>(often: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: often }, { weight: 1, arbitrary: odd });
    const windows = fc.uniqueArray(fc.integer({ min: 2, max: 250 }), { minLength: 1, maxLength: 5 });
    const columns = fc.uniqueArray(fc.constantFrom<string>('ts_code', 'trade_date', 'open', 'high', 'close', 'pct_chg', 'vol', 'adj_factor'), { minLength: 1, maxLength: 4 });
    const args = fc.record(
      {
        freq: valid(fc.constantFrom('D', 'W', 'M'), fc.string({ maxLength: 3 })),
        ma: valid(windows, fc.array(fc.integer({ min: -1, max: 300 }), { maxLength: 6 })),
        fields: valid(columns, fc.array(fc.constantFrom('ma5', 'ma1', 'x', '', 'close\n', 'close'), { maxLength: 3 })),
        format: valid(fc.constantFrom('json', 'csv'), fc.constantFrom('CSV', '', 'xml')),
        adjust: fc.constantFrom('none', 'qfq', 'hfq'),
        start_date: bounded,
        end_date: bounded,
      },
      { requiredKeys: [] },
    );
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(args, async (chosen) => {
        const result = await call('get_daily_bars', { ts_code: CODE, ...chosen });
        const text = result.content[0].text;
        if (result.isError) {
          expect(text).toMatch(/^Invalid arguments for get_daily_bars:\n✖ .*\n {2}→ at (freq|ma|fields|format|end_date)/);
          return;
        }
        const output = result.structuredContent!;
        answered++;
        expect(output.row_count).toBe(output.rows.length);
        if (chosen.format === 'csv') expect(text.split('\n').length).toBe(output.rows.length + 1);
        else expect(JSON.parse(text)).toEqual(output);
        if (chosen.fields?.length) for (const row of output.rows) expect(Object.keys(row)).toEqual(chosen.fields);
      }),
      { numRuns: 60 },
    );
    // Enough calls got through validation to exercise the SQL of every combination.
    expect(answered).toBeGreaterThan(10);
  });

  it('should describe the new arguments in tools/list', async () => {
    const { tools } = await client.listTools();
    const bars = tools.find((tool) => tool.name === 'get_daily_bars')!;
    const properties = bars.inputSchema.properties as Record<string, { enum?: string[]; default?: unknown; description?: string; maxItems?: number }>;
    expect(properties.freq).toMatchObject({ enum: ['D', 'W', 'M'], default: 'D' });
    expect(properties.ma).toMatchObject({ maxItems: 5 });
    expect(properties.format).toMatchObject({ enum: ['json', 'csv'], default: 'json' });
    expect(properties.fields.description).toContain('adj_factor or ma<N>');
    expect(bars.description).toMatch(/freq W or M .* format "csv"/);
    for (const name of ['search_stocks', 'get_latest_bars', 'get_trade_calendar', 'get_daily_basic']) {
      const tool = tools.find((listed) => listed.name === name)!;
      expect(Object.keys(tool.inputSchema.properties!)).toEqual(expect.arrayContaining(['fields', 'format']));
      expect(tool.description).toContain('format "csv" returns the rows as CSV text');
    }
    const search = tools.find((tool) => tool.name === 'search_stocks')!.inputSchema.properties as Record<string, { items?: { enum?: string[] } }>;
    expect(search.fields.items?.enum).toEqual(['ts_code', 'symbol', 'name', 'area', 'industry', 'market', 'list_date', 'delist_date', 'list_status']);
    const original = tools.find((tool) => tool.name === 'tushare_daily_get_daily_data')!;
    expect(Object.keys(original.inputSchema.properties!)).not.toContain('format');
  });
});

function mondayOf(day: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() - ((date.getUTCDay() + 6) % 7));
  return date.toISOString().slice(0, 10);
}

