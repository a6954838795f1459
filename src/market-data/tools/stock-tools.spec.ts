import { z } from 'zod';
import { clickHouseUrl, dropDatabase, uniqueDatabaseName } from '../../../test/support/clickhouse.js';
import { ClickHouseService } from '../../clickhouse/clickhouse.service.js';
import { MigrationRunner } from '../../clickhouse/migration-runner.js';
import { createDemoStockTables } from '../../clickhouse/migrations/004-demo-stock-tables.js';
import { ident, sql } from '../../clickhouse/sql.js';
import { loadAppConfig } from '../../config/app-config.js';
import { dailyBasicRows, dailyRows } from '../demo-data/demo-data.generator.js';
import { DemoDataSeeder } from '../demo-data/demo-data.seeder.js';
import { getDailyBarsTool } from './get-daily-bars.tool.js';
import { getDailyBasicTool } from './get-daily-basic.tool.js';
import { getLatestBarsTool } from './get-latest-bars.tool.js';
import { getTradeCalendarTool } from './get-trade-calendar.tool.js';
import { STOCK_TOOLS } from './index.js';
import { searchStocksTool } from './search-stocks.tool.js';
import { type StockTool, runStockTool } from './stock-tool.js';

const TODAY = new Date('2026-11-25T00:00:00Z');
const HOSTILE = "'; DROP TABLE ods_daily; --";
const SEEDED_ROWS = { ods_trade_calendar: 1510, ods_daily: 24_255, ods_daily_basic: 24_255, ods_stock_basic: 45 };
const GENERATED_BARS = [...dailyRows(TODAY)];
const GENERATED_BASICS = [...dailyBasicRows(TODAY)];
const BANKS = ['000001.SZ', '600000.SH', '600036.SH', '601166.SH', '601288.SH', '601398.SH', '601939.SH'];

/**
 * ClickHouse 18.16 parses JSONEachRow floats up to an ULP off (-1.2289 reads back as
 * -1.2288999999999999); the generator's values have fewer than 15 significant digits, which survive.
 */
function significantDigits(rows: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((row) =>
    Object.fromEntries(Object.entries(row).map(([key, value]) => [key, typeof value === 'number' ? Number(value.toPrecision(15)) : value])),
  );
}

function issuesOf(tool: StockTool, args: unknown): string[][] {
  const result = tool.input.safeParse(args);
  return result.success ? [] : result.error.issues.map((issue) => [issue.path.join('.'), issue.message]);
}

async function migratedDatabase(env: Record<string, string> = {}) {
  const database = uniqueDatabaseName('stock_tools');
  const config = loadAppConfig({ CLICKHOUSE_URL: clickHouseUrl(), CLICKHOUSE_DATABASE: database, ...env });
  const clickhouse = new ClickHouseService(config);
  await new MigrationRunner(clickhouse).run([createDemoStockTables]);
  return { database, clickhouse, seeder: new DemoDataSeeder(clickhouse, config) };
}

describe('stock tools', () => {
  let database: string;
  let clickhouse: ClickHouseService;
  let seeder: DemoDataSeeder;
  let firstSeed: Awaited<ReturnType<DemoDataSeeder['seedIfEmpty']>>;

  const run = (tool: StockTool, args: unknown) => runStockTool(tool, tool.input.parse(args), clickhouse);
  const codesOf = (rows: Record<string, unknown>[]) => rows.map((row) => row.ts_code);

  async function tableCounts(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const table of Object.keys(SEEDED_ROWS)) {
      const [row] = await clickhouse.query<{ n: string }>(sql`SELECT count() AS n FROM ${ident(table)}`);
      counts[table] = Number(row.n);
    }
    return counts;
  }

  beforeAll(async () => {
    ({ database, clickhouse, seeder } = await migratedDatabase());
    firstSeed = await seeder.seedIfEmpty(TODAY);
  });

  afterAll(async () => {
    await clickhouse.onApplicationShutdown();
    await dropDatabase(database);
  });

  describe(DemoDataSeeder.name, () => {
    it('should fill every demo table on first start', async () => {
      expect(firstSeed).toEqual({ seeded: true, rows: SEEDED_ROWS });
      expect(await tableCounts()).toEqual(SEEDED_ROWS);
    });

    it('should not seed again when the stock list has rows', async () => {
      expect(await seeder.seedIfEmpty(TODAY)).toEqual({ seeded: false, rows: {} });
      expect(await tableCounts()).toEqual(SEEDED_ROWS);
    });

    it('should seed nothing when DEMO_DATA is false', async () => {
      const disabled = await migratedDatabase({ DEMO_DATA: 'false' });
      try {
        expect(await disabled.seeder.seedIfEmpty(TODAY)).toEqual({ seeded: false, rows: {} });
        const [row] = await disabled.clickhouse.query<{ n: string }>(sql`SELECT count() AS n FROM ods_stock_basic`);
        expect(Number(row.n)).toBe(0);
      } finally {
        await disabled.clickhouse.onApplicationShutdown();
        await dropDatabase(disabled.database);
      }
    });
  });

  describe('STOCK_TOOLS', () => {
    it('should publish uniquely named tools with every argument documented', () => {
      expect(STOCK_TOOLS.map((tool) => tool.name)).toEqual(['search_stocks', 'get_daily_bars', 'get_latest_bars', 'get_trade_calendar', 'get_daily_basic']);
      for (const tool of STOCK_TOOLS) {
        const schema = z.toJSONSchema(tool.input, { target: 'draft-7', io: 'input' }) as { properties: Record<string, { description?: string }> };
        const undocumented = Object.entries(schema.properties).filter(([, property]) => !property.description);
        expect([tool.name, undocumented]).toEqual([tool.name, []]);
      }
    });
  });

  describe(searchStocksTool.name, () => {
    it('should find every bank by a name fragment', async () => {
      const result = await run(searchStocksTool, { query: '银行' });
      expect([result.table, result.row_count, result.truncated]).toEqual(['ods_stock_basic', 7, false]);
      expect(codesOf(result.rows)).toEqual(BANKS);
    });

    it('should match code and symbol prefixes and latin name fragments case-insensitively', async () => {
      expect(codesOf((await run(searchStocksTool, { query: '000001.sz' })).rows)).toEqual(['000001.SZ']);
      expect(codesOf((await run(searchStocksTool, { query: '688' })).rows)).toEqual(['688012.SH', '688111.SH', '688981.SH']);
      expect(codesOf((await run(searchStocksTool, { query: 'a' })).rows)).toEqual(['000002.SZ', '000725.SZ']);
      expect(codesOf((await run(searchStocksTool, { query: '519' })).rows)).toEqual([]);
    });

    it('should filter by exact industry and return the full stock row', async () => {
      const result = await run(searchStocksTool, { industry: '白酒' });
      expect(codesOf(result.rows)).toEqual(['000568.SZ', '000858.SZ', '600519.SH', '600809.SH']);
      expect(result.rows[2]).toEqual({
        ts_code: '600519.SH',
        symbol: '600519',
        name: '贵州茅台',
        area: '贵州',
        industry: '白酒',
        market: '主板',
        exchange: 'SSE',
        list_date: '2001-08-27',
        list_status: 'L',
      });
      expect((await run(searchStocksTool, { query: '银行', industry: '白酒' })).row_count).toBe(0);
    });

    it('should apply the default and the requested limit', async () => {
      expect((await run(searchStocksTool, {})).row_count).toBe(45);
      const limited = await run(searchStocksTool, { limit: 3 });
      expect(codesOf(limited.rows)).toEqual(['000001.SZ', '000002.SZ', '000063.SZ']);
    });

    it('should treat hostile text as plain text', async () => {
      expect((await run(searchStocksTool, { query: HOSTILE })).row_count).toBe(0);
      expect((await run(searchStocksTool, { industry: HOSTILE })).row_count).toBe(0);
      expect(await tableCounts()).toEqual(SEEDED_ROWS);
    });

    it('should reject bad arguments', () => {
      expect(issuesOf(searchStocksTool, { limit: 0 })).toEqual([['limit', 'Too small: expected number to be >=1']]);
      expect(issuesOf(searchStocksTool, { limit: 201 })).toEqual([['limit', 'Too big: expected number to be <=200']]);
      expect(issuesOf(searchStocksTool, { limit: '10' })).toEqual([['limit', 'Invalid input: expected number, received string']]);
      expect(issuesOf(searchStocksTool, { query: '  ' })).toEqual([['query', 'Too small: expected string to have >=1 characters']]);
    });
  });

  describe(getDailyBarsTool.name, () => {
    const expectedBars = (code: string, from: string, to: string) =>
      GENERATED_BARS.filter((bar) => bar.ts_code === code && bar.trade_date >= from && bar.trade_date <= to);

    it('should return the bars of a date range in order, in either date format', async () => {
      const result = await run(getDailyBarsTool, { ts_code: '000001.SZ', start_date: '20261116', end_date: '2026-11-20' });
      expect([result.table, result.row_count, result.truncated]).toEqual(['ods_daily', 5, false]);
      expect(result.rows.map((row) => row.trade_date)).toEqual(['2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20']);
      expect(significantDigits(result.rows)).toEqual(expectedBars('000001.SZ', '2026-11-16', '2026-11-20'));
      result.rows.slice(1).forEach((row, index) => expect(row.pre_close).toBe(result.rows[index].close));
    });

    it('should normalize a lower-case code and return the whole history without a range', async () => {
      const result = await run(getDailyBarsTool, { ts_code: '600519.sh' });
      expect([result.row_count, result.truncated]).toEqual([539, false]);
      expect([result.rows[0].trade_date, result.rows[538].trade_date]).toEqual(['2024-11-01', '2026-11-25']);
      expect(significantDigits(result.rows)).toEqual(expectedBars('600519.SH', '0000', '9999'));
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

    it('should reject hostile, mistyped and impossible arguments', async () => {
      expect(issuesOf(getDailyBarsTool, { ts_code: HOSTILE })).toEqual([
        ['ts_code', `Invalid ts_code ${JSON.stringify(HOSTILE)}: expected six digits and .SZ, .SH or .BJ, e.g. 000001.SZ`],
      ]);
      expect(issuesOf(getDailyBarsTool, { ts_code: 600519 })).toEqual([['ts_code', 'Invalid input: expected string, received number']]);
      expect(issuesOf(getDailyBarsTool, {})).toEqual([['ts_code', 'Invalid input: expected string, received undefined']]);
      expect(issuesOf(getDailyBarsTool, { ts_code: '000001.SZ', start_date: '2026-02-30' })).toEqual([['start_date', 'Invalid date "2026-02-30": no such day']]);
      expect(issuesOf(getDailyBarsTool, { ts_code: '000001.SZ', start_date: '19891231' })).toEqual([
        ['start_date', 'Invalid date "1989-12-31": the year must be between 1990 and 2100'],
      ]);
      expect(issuesOf(getDailyBarsTool, { ts_code: '000001.SZ', end_date: '2026/11/25' })).toEqual([
        ['end_date', 'Invalid date "2026/11/25": use YYYY-MM-DD or YYYYMMDD'],
      ]);
      expect(issuesOf(getDailyBarsTool, { ts_code: '000001.SZ', start_date: '2026-11-25', end_date: '20261120' })).toEqual([
        ['end_date', 'start_date 2026-11-25 is after end_date 2026-11-20'],
      ]);
      expect(await tableCounts()).toEqual(SEEDED_ROWS);
    });
  });

  describe(getLatestBarsTool.name, () => {
    it('should return the last bar of each code, ordered by code', async () => {
      const result = await run(getLatestBarsTool, { ts_codes: ['600519.SH', '000001.sz', '300750.SZ', '000001.SZ'] });
      expect([result.table, result.row_count, result.truncated]).toEqual(['ods_daily', 3, false]);
      const lastBars = GENERATED_BARS.filter((bar) => bar.trade_date === '2026-11-25');
      expect(significantDigits(result.rows)).toEqual(['000001.SZ', '300750.SZ', '600519.SH'].map((code) => lastBars.find((bar) => bar.ts_code === code)));
    });

    it('should reject an empty, oversized or malformed code list', () => {
      expect(issuesOf(getLatestBarsTool, { ts_codes: [] })).toEqual([['ts_codes', 'Too small: expected array to have >=1 items']]);
      expect(issuesOf(getLatestBarsTool, { ts_codes: Array(51).fill('000001.SZ') })).toEqual([['ts_codes', 'Too big: expected array to have <=50 items']]);
      expect(issuesOf(getLatestBarsTool, { ts_codes: '000001.SZ' })).toEqual([['ts_codes', 'Invalid input: expected array, received string']]);
      expect(issuesOf(getLatestBarsTool, { ts_codes: ['000001.SZ', HOSTILE] })).toEqual([
        ['ts_codes.1', `Invalid ts_code ${JSON.stringify(HOSTILE)}: expected six digits and .SZ, .SH or .BJ, e.g. 000001.SZ`],
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
      expect(issuesOf(getTradeCalendarTool, { ...november, exchange: 'BSE' })).toEqual([['exchange', 'Invalid option: expected one of "SSE"|"SZSE"']]);
      expect(issuesOf(getTradeCalendarTool, { ...november, is_open: 'yes' })).toEqual([['is_open', 'Invalid input: expected boolean, received string']]);
      expect(issuesOf(getTradeCalendarTool, { start_date: '2101-01-01', end_date: '2101-01-02' })).toEqual([
        ['start_date', 'Invalid date "2101-01-01": the year must be between 1990 and 2100'],
        ['end_date', 'Invalid date "2101-01-02": the year must be between 1990 and 2100'],
      ]);
    });
  });

  describe(getDailyBasicTool.name, () => {
    it('should return the valuation rows of a date range in order', async () => {
      const result = await run(getDailyBasicTool, { ts_code: '600519.SH', start_date: '2026-11-23', end_date: '2026-11-25' });
      expect([result.table, result.row_count, result.truncated]).toEqual(['ods_daily_basic', 3, false]);
      const expected = GENERATED_BASICS.filter((row) => row.ts_code === '600519.SH' && row.trade_date >= '2026-11-23');
      expect(significantDigits(result.rows)).toEqual(expected);
    });

    it('should share the date checks of the other per-stock tools', () => {
      expect(issuesOf(getDailyBasicTool, { ts_code: '600519.SH', start_date: '2026-11-25', end_date: '2026-11-24' })).toEqual([
        ['end_date', 'start_date 2026-11-25 is after end_date 2026-11-24'],
      ]);
    });
  });
});
