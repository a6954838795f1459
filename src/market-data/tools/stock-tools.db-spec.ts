import { z } from 'zod';
import { ident, sql } from '../../clickhouse/sql.js';
import { type SeededMarket, TODAY, issuesOf, seededMarket, significantDigits, withoutIngest } from '../../../test/support/market.js';
import { round2 } from '../adjustment.js';
import { adjFactorRows, dailyBasicRows, dailyRows } from '../demo-data/demo-data.generator.js';
import { DemoDataSeeder } from '../demo-data/demo-data.seeder.js';
import { getDailyBarsTool } from './get-daily-bars.tool.js';
import { getDailyBasicTool } from './get-daily-basic.tool.js';
import { getLatestBarsTool } from './get-latest-bars.tool.js';
import { getTradeCalendarTool } from './get-trade-calendar.tool.js';
import { TOOL_SETS } from './index.js';
import { searchStocksTool } from './search-stocks.tool.js';

const HOSTILE = "'; DROP TABLE ods_daily; --";
const SEEDED_ROWS = { ods_trade_calendar: 1510, ods_daily: 24_300, ods_daily_basic: 24_300, ods_adj_factor: 24_255, ods_stock_basic: 46 };
const GENERATED_BARS = [...dailyRows(TODAY)].map(withoutIngest);
const GENERATED_BASICS = [...dailyBasicRows(TODAY)].map(withoutIngest);
const GENERATED_FACTORS = [...adjFactorRows(TODAY)];
const BANKS = ['000001.SZ', '600000.SH', '600036.SH', '601166.SH', '601288.SH', '601398.SH', '601939.SH'];

describe('stock tools', () => {
  let market: SeededMarket;

  const run = (...args: Parameters<SeededMarket['run']>) => market.run(...args);
  const codesOf = (rows: Record<string, unknown>[]) => rows.map((row) => row.ts_code);

  async function tableCounts(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const table of Object.keys(SEEDED_ROWS)) {
      const [row] = await market.clickhouse.query<{ n: string }>(sql`SELECT count() AS n FROM ${ident(table)}`);
      counts[table] = Number(row.n);
    }
    return counts;
  }

  beforeAll(async () => {
    // Keeps the early and the final ingest of the newest day in separate parts: nothing may rely on merges.
    market = await seededMarket('stock_tools', {}, { keepVersions: true });
  });

  afterAll(async () => {
    await market.close();
  });

  describe('demo data', () => {
    it('should fill every market table on first start, re-ingested versions included', async () => {
      expect(market.firstSeed).toEqual({ seeded: true, rows: SEEDED_ROWS });
      expect(await tableCounts()).toEqual(SEEDED_ROWS);
    });

    it('should not seed again when the tables have rows', async () => {
      expect(await market.seeder.seedIfEmpty(TODAY)).toEqual({ seeded: false, rows: {} });
      expect(await tableCounts()).toEqual(SEEDED_ROWS);
    });

    it('should not mix demo rows into a real database whose stock list is still empty', async () => {
      const loading = await seededMarket('stock_tools_loading', { DEMO_DATA: 'false' });
      try {
        await loading.clickhouse.insert('ods_daily', [{ ts_code: '600519.SH', trade_date: '2026-11-24', close: 1500.5 }]);
        const seeder = new DemoDataSeeder(loading.clickhouse, loading.schema, { ...loading.config, demoData: true });
        expect(await seeder.seedIfEmpty(TODAY)).toEqual({ seeded: false, rows: {} });
        const counts = await loading.clickhouse.query<{ n: string }>(
          sql`SELECT toString(count()) AS n FROM ods_daily UNION ALL SELECT toString(count()) AS n FROM ods_stock_basic`,
        );
        expect(counts.map((row) => row.n).sort()).toEqual(['0', '1']);
      } finally {
        await loading.close();
      }
    });

    it('should seed nothing when DEMO_DATA is false, yet create the tables in the original shape', async () => {
      const disabled = await seededMarket('stock_tools_off', { DEMO_DATA: 'false' });
      try {
        expect(disabled.firstSeed).toEqual({ seeded: false, rows: {} });
        const [row] = await disabled.clickhouse.query<{ n: string }>(sql`SELECT count() AS n FROM ods_adj_factor`);
        expect(Number(row.n)).toBe(0);
        expect(disabled.schema.table('ods_daily').columns.get('open')).toBe('Nullable(Float64)');
        expect(disabled.schema.table('ods_daily').versionColumn).toBe('version');
      } finally {
        await disabled.close();
      }
    });
  });

  describe('tool sets', () => {
    it('should publish uniquely named tools with every argument documented', () => {
      const names = [...TOOL_SETS.stock, ...TOOL_SETS.tushare].map((tool) => tool.name);
      expect(new Set(names).size).toBe(25);
      expect(TOOL_SETS.stock.map((tool) => tool.name)).toEqual(['search_stocks', 'get_daily_bars', 'get_latest_bars', 'get_trade_calendar', 'get_daily_basic']);
      for (const tool of [...TOOL_SETS.stock, ...TOOL_SETS.tushare]) {
        const schema = z.toJSONSchema(tool.input, { target: 'draft-7', io: 'input' }) as { properties: Record<string, { description?: string }>; additionalProperties?: boolean };
        const undocumented = Object.entries(schema.properties).filter(([, property]) => !property.description);
        expect([tool.name, undocumented, schema.additionalProperties]).toEqual([tool.name, [], false]);
      }
    });

    it('should refuse a misspelled argument by name instead of returning unfiltered rows', () => {
      expect(issuesOf(searchStocksTool, { industy: '银行' })).toEqual([['', 'Unrecognized key: "industy"']]);
      expect(issuesOf(getDailyBarsTool, { ts_code: '600519.SH', start: '20240101' })).toEqual([['', 'Unrecognized key: "start"']]);
    });
  });

  describe(searchStocksTool.name, () => {
    it('should find every bank by a name fragment', async () => {
      const result = await run(searchStocksTool, { query: '银行' });
      expect([result.table, result.row_count, result.truncated]).toEqual(['ods_stock_basic', 7, false]);
      expect(codesOf(result.rows)).toEqual(BANKS);
    });

    it('should match code and symbol prefixes (also sent as numbers) and latin name fragments case-insensitively', async () => {
      expect(codesOf((await run(searchStocksTool, { query: '000001.sz' })).rows)).toEqual(['000001.SZ']);
      expect(codesOf((await run(searchStocksTool, { query: '688' })).rows)).toEqual(['688012.SH', '688111.SH', '688981.SH']);
      expect(codesOf((await run(searchStocksTool, { query: 688 })).rows)).toEqual(['688012.SH', '688111.SH', '688981.SH']);
      expect(codesOf((await run(searchStocksTool, { query: 'a' })).rows)).toEqual(['000002.SZ', '000725.SZ']);
      expect(codesOf((await run(searchStocksTool, { query: '519' })).rows)).toEqual([]);
    });

    it('should return the newest version of a stock row and search it by its current name only', async () => {
      const result = await run(searchStocksTool, { industry: '全国地产' });
      expect(result.rows).toEqual([
        { ts_code: '000002.SZ', symbol: '000002', name: '万科A', area: '深圳', industry: '全国地产', market: '主板', list_date: '1991-01-29', delist_date: null, list_status: 'L' },
      ]);
      expect((await run(searchStocksTool, { query: '万 科' })).rows).toEqual([]);
    });

    it('should filter by exact industry and listing status', async () => {
      expect(codesOf((await run(searchStocksTool, { industry: '白酒' })).rows)).toEqual(['000568.SZ', '000858.SZ', '600519.SH', '600809.SH']);
      expect((await run(searchStocksTool, { query: '银行', industry: '白酒' })).row_count).toBe(0);
      expect((await run(searchStocksTool, { list_status: 'D' })).row_count).toBe(0);
    });

    it('should apply the default and the requested limit', async () => {
      expect((await run(searchStocksTool, {})).row_count).toBe(45);
      expect(codesOf((await run(searchStocksTool, { limit: 3 })).rows)).toEqual(['000001.SZ', '000002.SZ', '000063.SZ']);
    });

    it('should treat hostile text as plain text', async () => {
      expect((await run(searchStocksTool, { query: HOSTILE })).row_count).toBe(0);
      expect((await run(searchStocksTool, { industry: HOSTILE })).row_count).toBe(0);
      expect(await tableCounts()).toEqual(SEEDED_ROWS);
    });

    it('should reject bad arguments', () => {
      expect(issuesOf(searchStocksTool, { limit: 0 })).toEqual([['limit', 'Too small: expected number to be >=1']]);
      expect(issuesOf(searchStocksTool, { limit: 201 })).toEqual([['limit', 'Too big: expected number to be <=200']]);
      expect(issuesOf(searchStocksTool, { query: '  ' })).toEqual([['query', 'Too small: expected string to have >=1 characters']]);
      expect(issuesOf(searchStocksTool, { list_status: 'X' })).toEqual([['list_status', 'Invalid option: expected one of "L"|"D"|"P"']]);
    });
  });

  describe(getDailyBarsTool.name, () => {
    const expectedBars = (code: string, from: string, to: string) => GENERATED_BARS.filter((bar) => bar.ts_code === code && bar.trade_date >= from && bar.trade_date <= to);

    it('should return the bars of a date range in order, in either date format', async () => {
      const result = await run(getDailyBarsTool, { ts_code: '000001.SZ', start_date: '20261116', end_date: '2026-11-20' });
      expect([result.table, result.row_count, result.truncated]).toEqual(['ods_daily', 5, false]);
      expect(result.rows.map((row) => row.trade_date)).toEqual(['2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20']);
      expect(significantDigits(result.rows)).toEqual(expectedBars('000001.SZ', '2026-11-16', '2026-11-20'));
    });

    it('should show one bar per day, the final ingest, while an early one is still unmerged', async () => {
      const [stored] = await market.clickhouse.query<{ n: string }>(sql`SELECT count() AS n FROM ods_daily WHERE ts_code = '000001.SZ' AND trade_date = '2026-11-25'`);
      expect(Number(stored.n)).toBe(2);
      const result = await run(getDailyBarsTool, { ts_code: '000001.SZ', start_date: '2026-11-24' });
      expect(significantDigits(result.rows)).toEqual(expectedBars('000001.SZ', '2026-11-24', '2026-11-25'));
    });

    it('should normalize a lower-case or bare code (also a number) and return the whole history without a range', async () => {
      const result = await run(getDailyBarsTool, { ts_code: '600519.sh' });
      expect([result.row_count, result.truncated]).toEqual([539, false]);
      expect([result.rows[0].trade_date, result.rows[538].trade_date]).toEqual(['2024-11-01', '2026-11-25']);
      expect(significantDigits(result.rows)).toEqual(expectedBars('600519.SH', '0000', '9999'));
      expect((await run(getDailyBarsTool, { ts_code: 600519, start_date: 20261125 })).rows.map((row) => row.ts_code)).toEqual(['600519.SH']);
      expect((await run(getDailyBarsTool, { ts_code: '000001', start_date: '20261125' })).rows.map((row) => row.ts_code)).toEqual(['000001.SZ']);
    });

    it('should return nothing for a weekend or an unknown code', async () => {
      expect((await run(getDailyBarsTool, { ts_code: '000001.SZ', start_date: '2026-11-21', end_date: '2026-11-22' })).rows).toEqual([]);
      expect((await run(getDailyBarsTool, { ts_code: '999999.SZ' })).rows).toEqual([]);
    });

    it('should flag truncation when the row cap is hit', async () => {
      const capped = { ...getDailyBarsTool, maxRows: 5 };
      const result = await run(capped, { ts_code: '000001.SZ', end_date: '2024-11-30' });
      expect([result.row_count, result.truncated]).toEqual([5, true]);
      expect(result.rows.map((row) => row.trade_date)).toEqual(['2024-11-01', '2024-11-04', '2024-11-05', '2024-11-06', '2024-11-07']);
    });

    it('should adjust prices across an ex-dividend day as pro_bar does', async () => {
      // 000001.SZ goes ex-dividend on 2025-07-21: pre_close 9.90 against the previous close 10.27, adj_factor 1.641 -> 1.702.
      const range = { ts_code: '000001.SZ', start_date: '2025-07-18', end_date: '2025-07-21' };
      const raw = await run(getDailyBarsTool, range);
      expect(raw.rows.map((row) => [row.close, row.pre_close])).toEqual([[10.27, 9.98], [10.11, 9.9]]);

      const hfq = await run(getDailyBarsTool, { ...range, adjust: 'hfq' });
      expect(hfq.rows.map((row) => [row.trade_date, row.adj_factor, row.close, row.pre_close, row.change, row.pct_chg, row.vol])).toEqual([
        ['2025-07-18', 1.641, 16.85, 16.38, 0.47, 2.87, raw.rows[0].vol],
        ['2025-07-21', 1.702, 17.21, 16.85, 0.36, 2.14, raw.rows[1].vol],
      ]);
      const qfq = await run(getDailyBarsTool, { ...range, adjust: 'qfq' });
      expect(qfq.rows.map((row) => [row.trade_date, row.close, row.pre_close])).toEqual([
        ['2025-07-18', 9.9, 9.62],
        ['2025-07-21', 10.11, 9.9],
      ]);
      expect(GENERATED_FACTORS.filter((row) => row.ts_code === '000001.SZ' && row.trade_date >= '2025-07-18' && row.trade_date <= '2025-07-21').map((row) => row.adj_factor)).toEqual([1.641, 1.702]);
    });

    it('should reject hostile, mistyped and impossible arguments', async () => {
      expect(issuesOf(getDailyBarsTool, { ts_code: HOSTILE })).toEqual([['ts_code', `Invalid stock code ${JSON.stringify(HOSTILE)}: expected six digits with .SZ, .SH or .BJ, e.g. 000001.SZ`]]);
      expect(issuesOf(getDailyBarsTool, {})).toEqual([['ts_code', 'Invalid input: expected string, received undefined']]);
      expect(issuesOf(getDailyBarsTool, { ts_code: '000001.SZ', start_date: '2026-02-30' })).toEqual([['start_date', 'Invalid date "2026-02-30": no such day']]);
      expect(issuesOf(getDailyBarsTool, { ts_code: '000001.SZ', start_date: '19891231' })).toEqual([['start_date', 'Invalid date "1989-12-31": the year must be between 1990 and 2100']]);
      expect(issuesOf(getDailyBarsTool, { ts_code: '000001.SZ', end_date: '2026/11/25' })).toEqual([['end_date', 'Invalid date "2026/11/25": use YYYY-MM-DD or YYYYMMDD']]);
      expect(issuesOf(getDailyBarsTool, { ts_code: '000001.SZ', start_date: '2026-11-25', end_date: '20261120' })).toEqual([['end_date', 'start_date 2026-11-25 is after end_date 2026-11-20']]);
      expect(issuesOf(getDailyBarsTool, { ts_code: '000001.SZ', adjust: 'both' })).toEqual([['adjust', 'Invalid option: expected one of "none"|"qfq"|"hfq"']]);
      expect(await tableCounts()).toEqual(SEEDED_ROWS);
    });
  });

  describe(getLatestBarsTool.name, () => {
    it('should return the last (final) bar of each code, ordered by code', async () => {
      const result = await run(getLatestBarsTool, { ts_codes: ['600519.SH', '000001.sz', '300750.SZ', '000001.SZ'] });
      expect([result.table, result.row_count, result.truncated]).toEqual(['ods_daily', 3, false]);
      const lastBars = GENERATED_BARS.filter((bar) => bar.trade_date === '2026-11-25');
      expect(significantDigits(result.rows)).toEqual(['000001.SZ', '300750.SZ', '600519.SH'].map((code) => lastBars.find((bar) => bar.ts_code === code)));
    });

    it('should take the codes as a comma-separated string too', async () => {
      expect(codesOf((await run(getLatestBarsTool, { ts_codes: '600519.SH, 000001.SZ' })).rows)).toEqual(['000001.SZ', '600519.SH']);
    });

    it('should reject an empty, oversized or malformed code list', () => {
      expect(issuesOf(getLatestBarsTool, { ts_codes: [] })).toEqual([['ts_codes', 'Too small: expected array to have >=1 items']]);
      expect(issuesOf(getLatestBarsTool, { ts_codes: Array(51).fill('000001.SZ') })).toEqual([['ts_codes', 'Too big: expected array to have <=50 items']]);
      expect(issuesOf(getLatestBarsTool, { ts_codes: ['000001.SZ', HOSTILE] })).toEqual([
        ['ts_codes.1', `Invalid stock code ${JSON.stringify(HOSTILE)}: expected six digits with .SZ, .SH or .BJ, e.g. 000001.SZ`],
      ]);
    });
  });

  describe(getTradeCalendarTool.name, () => {
    const november = { start_date: '2026-11-01', end_date: '20261125' };

    it('should return every day of the range for the default exchange', async () => {
      const result = await run(getTradeCalendarTool, november);
      expect([result.table, result.row_count, result.truncated]).toEqual(['ods_trade_calendar', 25, false]);
      expect(result.rows[0]).toEqual({ exchange: 'SSE', cal_date: '2026-11-01', is_open: 0, pretrade_date: '2026-10-30' });
      expect(result.rows[24]).toEqual({ exchange: 'SSE', cal_date: '2026-11-25', is_open: 1, pretrade_date: '2026-11-24' });
    });

    it('should filter open and closed days', async () => {
      expect((await run(getTradeCalendarTool, { ...november, exchange: 'SZSE', is_open: true })).row_count).toBe(18);
      const closed = await run(getTradeCalendarTool, { ...november, exchange: 'SZSE', is_open: false });
      expect(closed.rows.map((row) => [row.exchange, row.cal_date])).toEqual(
        ['2026-11-01', '2026-11-07', '2026-11-08', '2026-11-14', '2026-11-15', '2026-11-21', '2026-11-22'].map((day) => ['SZSE', day]),
      );
    });

    it('should require both dates and reject unknown exchanges and non-boolean filters', () => {
      expect(issuesOf(getTradeCalendarTool, { end_date: '2026-11-25' })).toEqual([['start_date', 'Invalid input: expected string, received undefined']]);
      expect(issuesOf(getTradeCalendarTool, { ...november, exchange: 'NYSE' })).toEqual([['exchange', 'Invalid option: expected one of "SSE"|"SZSE"|"BSE"|"CFFEX"|"SHFE"|"CZCE"|"DCE"|"INE"']]);
      expect(issuesOf(getTradeCalendarTool, { ...november, is_open: 'yes' })).toEqual([['is_open', 'Invalid input: expected boolean, received string']]);
    });
  });

  describe(getDailyBasicTool.name, () => {
    it('should return the final valuation rows of a date range in order, every metric included, NULL as null', async () => {
      const result = await run(getDailyBasicTool, { ts_code: '000002.SZ', start_date: '2026-11-24', end_date: '2026-11-25' });
      expect([result.table, result.row_count, result.truncated]).toEqual(['ods_daily_basic', 2, false]);
      const expected = GENERATED_BASICS.filter((row) => row.ts_code === '000002.SZ' && row.trade_date >= '2026-11-24');
      expect(significantDigits(result.rows)).toEqual(expected);
      expect(result.rows.map((row) => [row.pe, row.pe_ttm, typeof row.turnover_rate])).toEqual([[null, null, 'number'], [null, null, 'number']]);
    });
  });

  describe('adjustment against factors beyond the bars', () => {
    it('should take the qfq reference from the newest factor up to end_date, as pro_bar does', async () => {
      // tushare publishes a factor for a day the stock did not trade (or before its bar is in).
      await market.clickhouse.insert('ods_adj_factor', [{ ts_code: '000002.SZ', trade_date: '2026-11-27', adj_factor: 20, version: 1 }]);
      const factorOf = (day: string) => GENERATED_FACTORS.find((row) => row.ts_code === '000002.SZ' && row.trade_date === day)!.adj_factor;
      const bars = GENERATED_BARS.filter((bar) => bar.ts_code === '000002.SZ' && bar.trade_date >= '2026-11-24');
      const qfq = await run(getDailyBarsTool, { ts_code: '000002.SZ', start_date: '2026-11-24', end_date: '2026-11-27', adjust: 'qfq' });
      expect(qfq.rows.map((row) => row.close)).toEqual(bars.map((bar) => round2((bar.close * factorOf(bar.trade_date)) / 20)));
      const upToTheLastBar = await run(getDailyBarsTool, { ts_code: '000002.SZ', start_date: '2026-11-24', end_date: '2026-11-25', adjust: 'qfq' });
      expect(upToTheLastBar.rows.map((row) => row.close)).toEqual(bars.map((bar) => bar.close));
    });
  });

  describe('adjustment without factors', () => {
    it('should refuse an adjustment without factors, naming the table', async () => {
      // A stock the loader has bars for but no factors yet.
      await market.clickhouse.insert('ods_daily', [{ ts_code: '000004.SZ', trade_date: '2026-11-25', open: 10, high: 10.5, low: 9.9, close: 10.2, pre_close: 10, version: 1 }]);
      await expect(run(getDailyBarsTool, { ts_code: '000004.SZ', adjust: 'qfq' })).rejects.toThrow(
        'No adjustment factors for 000004.SZ in ods_adj_factor around 2026-11-25, so adjusted prices cannot be computed; ask with adjust: "none"',
      );
      expect((await run(getDailyBarsTool, { ts_code: '000004.SZ' })).rows).toEqual([
        { ts_code: '000004.SZ', trade_date: '2026-11-25', open: 10, high: 10.5, low: 9.9, close: 10.2, pre_close: 10, change: null, pct_chg: null, vol: null, amount: null },
      ]);
    });
  });
});
