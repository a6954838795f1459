import {
  type DailyRow,
  dailyBasicRows,
  dailyRows,
  demoDataBatches,
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
  const stocks = stockBasicRows();

  it('should produce identical rows for the same day, whatever the time of day', () => {
    const later = new Date('2026-11-25T23:59:59Z');
    expect([...dailyRows(later)]).toEqual(bars);
    expect([...dailyBasicRows(later)]).toEqual(basics);
    expect(tradeCalendarRows(later)).toEqual(calendar);
    expect(stockBasicRows()).toEqual(stocks);
  });

  it('should pin the generated values', () => {
    expect(bars[OPEN_DAYS - 1]).toEqual({
      ts_code: '000001.SZ',
      trade_date: '2026-11-25',
      open: 10.02,
      high: 10.13,
      low: 10.01,
      close: 10.06,
      pre_close: 9.97,
      change: 0.09,
      pct_chg: 0.9027,
      vol: 861731,
      amount: 866470.521,
    });
    expect(stocks[0]).toEqual({
      ts_code: '000001.SZ',
      symbol: '000001',
      name: '平安银行',
      area: '深圳',
      industry: '银行',
      market: '主板',
      exchange: 'SZSE',
      list_date: '1991-04-03',
      list_status: 'L',
    });
  });

  it('should list a few dozen unique, well-formed A-share codes', () => {
    expect(stocks).toHaveLength(STOCK_COUNT);
    expect(new Set(stocks.map((s) => s.ts_code)).size).toBe(STOCK_COUNT);
    for (const stock of stocks) {
      expect(stock.ts_code).toMatch(/^\d{6}\.(SZ|SH)$/);
      expect(stock.symbol).toBe(stock.ts_code.slice(0, 6));
      expect(stock.exchange).toBe(stock.ts_code.endsWith('.SH') ? 'SSE' : 'SZSE');
      expect(stock.list_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
    expect(stocks.filter((s) => s.market === '创业板').map((s) => s.ts_code)).toEqual(['300059.SZ', '300750.SZ', '300274.SZ', '300760.SZ', '300015.SZ', '300124.SZ']);
    expect(stocks.filter((s) => s.market === '科创板').map((s) => s.ts_code)).toEqual(['688981.SH', '688111.SH', '688012.SH']);
  });

  it('should open on weekdays and close on weekends, with pretrade_date the previous open day', () => {
    const sse = calendar.filter((day) => day.exchange === 'SSE');
    expect(calendar.filter((day) => day.exchange === 'SZSE').map(({ exchange: _, ...day }) => day)).toEqual(sse.map(({ exchange: _, ...day }) => day));
    expect(sse[0]).toEqual({ exchange: 'SSE', cal_date: '2024-11-01', is_open: 1, pretrade_date: '2024-10-31' });
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

  it('should chain pre_close to the previous close', () => {
    for (const rows of barsByCode(bars).values()) {
      expect(rows.slice(1).filter((row, index) => row.pre_close !== rows[index].close)).toEqual([]);
    }
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
        !near(basic.turnover_rate, bar.vol / basic.float_share, 4) ||
        basic.float_share > basic.total_share ||
        Math.min(basic.pe, basic.pe_ttm, basic.pb, basic.ps, basic.volume_ratio) <= 0
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
      ['ods_stock_basic', STOCK_COUNT],
    ]);
  });

  it('should refuse an invalid day', () => {
    expect(() => openDays(new Date('nope'))).toThrow('demo data: today must be a valid Date');
  });
});
