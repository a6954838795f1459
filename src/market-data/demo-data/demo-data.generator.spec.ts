import {
  type DailyRow,
  adjFactorRows,
  dailyBasicRows,
  dailyRows,
  demoDataBatches,
  earlyIngestRows,
  openDays,
  stockBasicRows,
  tradeCalendarRows,
} from './demo-data.generator.js';

const TODAY = new Date('2026-11-25T00:00:00Z');
const OPEN_DAYS = 539;
const STOCK_COUNT = 45;

const isCents = (value: number) => Math.round(value * 100) / 100 === value;

function barsByCode(rows: DailyRow[]): Map<string, DailyRow[]> {
  const byCode = new Map<string, DailyRow[]>();
  for (const row of rows) byCode.set(row.ts_code, [...(byCode.get(row.ts_code) ?? []), row]);
  return byCode;
}

describe('demo data generator', () => {
  const bars = [...dailyRows(TODAY)];
  const basics = [...dailyBasicRows(TODAY)];
  const calendar = tradeCalendarRows(TODAY);
  const factors = [...adjFactorRows(TODAY)];
  const allStockRows = stockBasicRows(TODAY);
  const stocks = allStockRows.slice(0, STOCK_COUNT);

  it('should produce identical rows for the same day, whatever the time of day', () => {
    const later = new Date('2026-11-25T23:59:59Z');
    expect([...dailyRows(later)]).toEqual(bars);
    expect([...dailyBasicRows(later)]).toEqual(basics);
    expect(tradeCalendarRows(later)).toEqual(calendar);
    expect(stockBasicRows(later)).toEqual(allStockRows);
  });

  it('should pin the generated values', () => {
    expect(bars[OPEN_DAYS - 1]).toEqual({
      ts_code: '000001.SZ',
      trade_date: '2026-11-25',
      open: 10.84,
      high: 11,
      low: 10.23,
      close: 10.23,
      pre_close: 10.8,
      change: -0.57,
      pct_chg: -5.2778,
      vol: 1317404,
      amount: 1393154.73,
      version: 1795600800,
      _ingested_at: 1795600800,
    });
    expect(stocks[0]).toEqual({
      ts_code: '000001.SZ',
      symbol: '000001',
      name: '平安银行',
      area: '深圳',
      industry: '银行',
      market: '主板',
      list_date: '1991-04-03',
      delist_date: null,
      list_status: 'L',
      version: 1795600800,
      _ingested_at: 1795600800,
    });
  });

  it('should list a few dozen unique, well-formed A-share codes', () => {
    expect(stocks).toHaveLength(STOCK_COUNT);
    expect(new Set(stocks.map((s) => s.ts_code)).size).toBe(STOCK_COUNT);
    for (const stock of stocks) {
      expect(stock.ts_code).toMatch(/^\d{6}\.(SZ|SH)$/);
      expect(stock.symbol).toBe(stock.ts_code.slice(0, 6));
      expect(stock.list_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
    expect(stocks.filter((s) => s.market === '创业板').map((s) => s.ts_code)).toEqual(['300059.SZ', '300750.SZ', '300274.SZ', '300760.SZ', '300015.SZ', '300124.SZ']);
    expect(stocks.filter((s) => s.market === '科创板').map((s) => s.ts_code)).toEqual(['688981.SH', '688111.SH', '688012.SH']);
  });

  it('should open on weekdays and close on weekends, with pretrade_date the previous open day', () => {
    const sse = calendar.filter((day) => day.exchange === 'SSE');
    expect(calendar.filter((day) => day.exchange === 'SZSE').map(({ exchange: _, ...day }) => day)).toEqual(sse.map(({ exchange: _, ...day }) => day));
    expect(sse[0]).toEqual({ exchange: 'SSE', cal_date: '2024-11-01', is_open: 1, pretrade_date: '2024-10-31', version: 1730455200, _ingested_at: 1730455200 });
    expect(sse.at(-1)?.cal_date).toBe('2026-11-25');
    let previousOpen = '2024-10-31';
    for (const day of sse) {
      const weekday = new Date(`${day.cal_date}T00:00:00Z`).getUTCDay();
      expect(day.is_open).toBe(weekday === 0 || weekday === 6 ? 0 : 1);
      expect(day.pretrade_date).toBe(previousOpen);
      if (day.is_open) previousOpen = day.cal_date;
    }
  });

  it('should cover more than two full years of trading days up to today', () => {
    const days = openDays(TODAY);
    expect(days).toHaveLength(OPEN_DAYS);
    expect(days[0] <= '2024-11-25').toBe(true);
    expect(days.at(-1)).toBe('2026-11-25');
    expect(calendar.filter((day) => day.exchange === 'SSE' && day.is_open === 1).map((day) => day.cal_date)).toEqual(days);
  });

  it('should give every stock one bar per open day', () => {
    expect(bars).toHaveLength(STOCK_COUNT * OPEN_DAYS);
    for (const rows of barsByCode(bars).values()) expect(rows.map((r) => r.trade_date)).toEqual(openDays(TODAY));
  });

  it('should keep OHLC bars consistent', () => {
    const inconsistent = bars.filter(
      (bar) =>
        bar.high < Math.max(bar.open, bar.close) ||
        bar.low > Math.min(bar.open, bar.close) ||
        bar.low <= 0 ||
        ![bar.open, bar.high, bar.low, bar.close, bar.pre_close, bar.change].every(isCents) ||
        bar.change !== Math.round((bar.close - bar.pre_close) * 100) / 100 ||
        Math.abs(bar.pct_chg - (bar.change / bar.pre_close) * 100) > 0.00005 + 1e-9 ||
        !Number.isInteger(bar.vol) ||
        bar.vol <= 0 ||
        // amount (thousand yuan) / vol (lots) * 10 is the average price, which must lie within the bar.
        (bar.amount / bar.vol) * 10 < bar.low - 0.01 ||
        (bar.amount / bar.vol) * 10 > bar.high + 0.01,
    );
    expect(inconsistent).toEqual([]);
  });

  it('should chain pre_close to the previous close, except on ex-dividend days, where adj_factor rises by the same ratio', () => {
    const factorOf = new Map(factors.map((row) => [`${row.ts_code} ${row.trade_date}`, row.adj_factor]));
    for (const rows of barsByCode(bars).values()) {
      const breaks = rows.slice(1).filter((row, index) => row.pre_close !== rows[index].close);
      for (const row of breaks) {
        const index = rows.indexOf(row);
        const ratio = factorOf.get(`${row.ts_code} ${row.trade_date}`)! / factorOf.get(`${row.ts_code} ${rows[index - 1].trade_date}`)!;
        expect(row.trade_date.slice(5, 7)).toBe('07');
        expect(Math.abs(ratio - rows[index - 1].close / row.pre_close)).toBeLessThan(0.001);
      }
      // At most one ex-dividend day a year: July 2025 and July 2026.
      expect(breaks.length).toBeLessThanOrEqual(2);
    }
    const stepsOf000001 = factors.filter((row, index) => row.ts_code === '000001.SZ' && index > 0 && factors[index - 1].ts_code === '000001.SZ' && row.adj_factor !== factors[index - 1].adj_factor);
    expect(stepsOf000001.map((row) => [row.trade_date, row.adj_factor])).toEqual([['2025-07-21', 1.702], ['2026-07-20', 1.767]]);
    expect(factors.filter((row) => row.ts_code === '688981.SH').every((row) => row.adj_factor === factors.find((first) => first.ts_code === '688981.SH')!.adj_factor)).toBe(true);
  });

  it('should ingest the newest day twice: an early partial version, then the final one', () => {
    const early = [...earlyIngestRows(TODAY)];
    expect(early).toHaveLength(2 * STOCK_COUNT);
    const finalBar = bars.find((bar) => bar.ts_code === '000001.SZ' && bar.trade_date === '2026-11-25')!;
    const earlyBar = early.find((entry) => entry.table === 'ods_daily' && entry.row.ts_code === '000001.SZ')!.row as DailyRow;
    expect([earlyBar.vol, earlyBar.close, earlyBar.version < finalBar.version]).toEqual([Math.round(finalBar.vol * 0.7), finalBar.close, true]);
    expect(allStockRows[STOCK_COUNT]).toMatchObject({ ts_code: '000002.SZ', name: '万 科Ａ', version: 1795590000 });
  });

  it('should derive valuation metrics from the same close and volume', () => {
    expect(basics).toHaveLength(bars.length);
    const near = (actual: number, expected: number, digits: number) => Math.abs(actual - expected) <= 10 ** -digits;
    const inconsistent = basics.filter((basic, index) => {
      const bar = bars[index];
      return (
        [basic.ts_code, basic.trade_date, basic.close].join() !== [bar.ts_code, bar.trade_date, bar.close].join() ||
        !near(basic.total_mv, bar.close * basic.total_share, 4) ||
        !near(basic.circ_mv, bar.close * basic.float_share, 4) ||
        !near(basic.turnover_rate ?? -1, bar.vol / basic.float_share, 4) ||
        basic.float_share > basic.total_share ||
        basic.free_share > basic.float_share ||
        Math.min(basic.pb, basic.ps, basic.ps_ttm, basic.volume_ratio ?? 0) <= 0 ||
        (basic.pe === null) !== ['000002.SZ', '688981.SH'].includes(basic.ts_code) ||
        (basic.dv_ratio === null) !== basic.ts_code.startsWith('688')
      );
    });
    expect(inconsistent).toEqual([]);
  });

  it('should yield insert batches of at most the batch size, stock list last', () => {
    const batches = [...demoDataBatches(TODAY, 10_000)];
    expect(batches.map((b) => [b.table, b.rows.length])).toEqual([
      ['ods_trade_calendar', 1510],
      ['ods_daily', 10_000],
      ['ods_daily', 10_000],
      ['ods_daily', 4255],
      ['ods_daily_basic', 10_000],
      ['ods_daily_basic', 10_000],
      ['ods_daily_basic', 4255],
      ['ods_adj_factor', 10_000],
      ['ods_adj_factor', 10_000],
      ['ods_adj_factor', 4255],
      ['ods_daily', STOCK_COUNT],
      ['ods_daily_basic', STOCK_COUNT],
      ['ods_stock_basic', STOCK_COUNT + 1],
    ]);
  });

  it('should refuse an invalid day', () => {
    expect(() => openDays(new Date('nope'))).toThrow('demo data: today must be a valid Date');
  });
});
