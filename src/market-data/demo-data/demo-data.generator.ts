/**
 * Deterministic demo market data in the original system's table shapes (every column of its
 * tushare plugins' schema.json, `version` and `_ingested_at` included): the same `today` always
 * yields the same rows, so tests can assert exact values. Days are UTC calendar days; units follow
 * the original tables (vol in lots of 100 shares, amount in thousand yuan, market values in ten
 * thousand yuan, shares in ten thousand). Like the original's loader, the newest trading day is
 * ingested twice: an early, partial version (lower volume, no turnover yet) and the final one,
 * with a later `version`; tools must show the final one only.
 */

/** The loader's bookkeeping columns: `version` (ingest time in seconds) and `_ingested_at` (the same instant). */
interface Ingested {
  version: number;
  _ingested_at: number;
}

export type StockBasicRow = Ingested & {
  ts_code: string;
  symbol: string;
  name: string;
  area: string;
  industry: string;
  market: string;
  list_date: string;
  delist_date: string | null;
  list_status: string;
};

export type TradeCalendarRow = Ingested & { exchange: string; cal_date: string; is_open: 0 | 1; pretrade_date: string };

export type DailyRow = Ingested & {
  ts_code: string;
  trade_date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  pre_close: number;
  change: number;
  pct_chg: number;
  vol: number;
  amount: number;
};

export type DailyBasicRow = Ingested & {
  ts_code: string;
  trade_date: string;
  close: number;
  turnover_rate: number | null;
  turnover_rate_f: number | null;
  volume_ratio: number | null;
  pe: number | null;
  pe_ttm: number | null;
  pb: number;
  ps: number;
  ps_ttm: number;
  dv_ratio: number | null;
  dv_ttm: number | null;
  total_share: number;
  float_share: number;
  free_share: number;
  total_mv: number;
  circ_mv: number;
};

export type AdjFactorRow = Ingested & { ts_code: string; trade_date: string; adj_factor: number };

export type DemoRow = StockBasicRow | TradeCalendarRow | DailyRow | DailyBasicRow | AdjFactorRow;

export interface DemoBatch {
  table: string;
  rows: DemoRow[];
}

/** ts_code, name, area, industry, list_date, a typical price (yuan), total shares (hundred million). */
type StockSpec = readonly [string, string, string, string, string, number, number];

const STOCKS: readonly StockSpec[] = [
  ['000001.SZ', '平安银行', '深圳', '银行', '1991-04-03', 11, 194.06],
  ['600000.SH', '浦发银行', '上海', '银行', '1999-11-10', 8, 293.52],
  ['600036.SH', '招商银行', '深圳', '银行', '2002-04-09', 35, 252.2],
  ['601398.SH', '工商银行', '北京', '银行', '2006-10-27', 6, 3564.06],
  ['601939.SH', '建设银行', '北京', '银行', '2007-09-25', 7.5, 2500.11],
  ['601288.SH', '农业银行', '北京', '银行', '2010-07-15', 4.5, 3499.83],
  ['601166.SH', '兴业银行', '福建', '银行', '2007-02-05', 18, 207.74],
  ['600519.SH', '贵州茅台', '贵州', '白酒', '2001-08-27', 1600, 12.56],
  ['000858.SZ', '五粮液', '四川', '白酒', '1998-04-27', 140, 38.82],
  ['000568.SZ', '泸州老窖', '四川', '白酒', '1994-05-09', 150, 14.72],
  ['600809.SH', '山西汾酒', '山西', '白酒', '1994-01-06', 200, 12.2],
  ['601318.SH', '中国平安', '深圳', '保险', '2007-03-01', 45, 182.1],
  ['601628.SH', '中国人寿', '北京', '保险', '2007-01-09', 35, 282.65],
  ['600030.SH', '中信证券', '深圳', '证券', '2003-01-06', 25, 148.21],
  ['300059.SZ', '东方财富', '上海', '互联网', '2010-03-19', 20, 158.7],
  ['300750.SZ', '宁德时代', '福建', '电气设备', '2018-06-11', 220, 44.03],
  ['002594.SZ', '比亚迪', '深圳', '汽车整车', '2011-06-30', 260, 29.11],
  ['601012.SH', '隆基绿能', '陕西', '电气设备', '2012-04-11', 18, 75.78],
  ['300274.SZ', '阳光电源', '安徽', '电气设备', '2011-11-02', 80, 20.73],
  ['000333.SZ', '美的集团', '广东', '家用电器', '2013-09-18', 70, 70.2],
  ['000651.SZ', '格力电器', '广东', '家用电器', '1996-11-18', 40, 56.31],
  ['600690.SH', '海尔智家', '山东', '家用电器', '1993-11-19', 28, 93.84],
  ['000002.SZ', '万科A', '深圳', '全国地产', '1991-01-29', 8, 119.31],
  ['600276.SH', '恒瑞医药', '江苏', '化学制药', '2000-10-18', 45, 63.79],
  ['300760.SZ', '迈瑞医疗', '深圳', '医疗保健', '2018-10-16', 280, 12.12],
  ['603259.SH', '药明康德', '江苏', '医疗保健', '2018-05-08', 50, 28.94],
  ['300015.SZ', '爱尔眼科', '湖南', '医疗保健', '2009-10-30', 14, 93.25],
  ['600887.SH', '伊利股份', '内蒙', '乳制品', '1996-03-12', 28, 63.66],
  ['603288.SH', '海天味业', '广东', '食品', '2014-02-11', 40, 55.6],
  ['688981.SH', '中芯国际', '上海', '半导体', '2020-07-16', 80, 79.78],
  ['688111.SH', '金山办公', '北京', '软件服务', '2019-11-18', 280, 4.62],
  ['688012.SH', '中微公司', '上海', '半导体', '2019-07-22', 160, 6.19],
  ['002415.SZ', '海康威视', '浙江', '电器仪表', '2010-05-28', 30, 92.31],
  ['000725.SZ', '京东方A', '北京', '元器件', '2001-01-12', 4.2, 376.45],
  ['002475.SZ', '立讯精密', '深圳', '元器件', '2010-09-15', 35, 72.29],
  ['300124.SZ', '汇川技术', '深圳', '电气设备', '2010-09-28', 60, 26.92],
  ['601857.SH', '中国石油', '北京', '石油开采', '2007-11-05', 8, 1830.21],
  ['600028.SH', '中国石化', '北京', '石油加工', '2001-08-08', 6, 1217.52],
  ['601088.SH', '中国神华', '北京', '煤炭开采', '2007-10-09', 38, 198.69],
  ['601899.SH', '紫金矿业', '福建', '黄金', '2008-04-25', 15, 265.77],
  ['600900.SH', '长江电力', '北京', '水力发电', '2003-11-18', 28, 244.68],
  ['601888.SH', '中国中免', '北京', '旅游服务', '2009-10-15', 70, 20.69],
  ['002714.SZ', '牧原股份', '河南', '农业综合', '2014-01-28', 40, 54.65],
  ['000063.SZ', '中兴通讯', '深圳', '通信设备', '1997-11-18', 30, 47.84],
  ['600031.SH', '三一重工', '北京', '工程机械', '2003-07-03', 16, 84.75],
];

/**
 * The global Math as a module binding: the generator makes millions of its calls, and inside a jest
 * vm context (its specs, and the seeding the db specs run in-process) each global lookup costs some
 * hundred times more than this one.
 */
const Math = globalThis.Math;

const EXCHANGES = ['SSE', 'SZSE'] as const;
const DAY_MS = 86_400_000;
const CALENDAR_MONTHS = 24;

/** mulberry32: tiny, fast and good enough for demo prices; seeded so output never varies (the bench's workloads use it too). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** FNV-1a, so each stock's series depends on its code only, not on its position in the list. */
function hashSeed(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

function standardNormal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function between(random: () => number, min: number, max: number): number {
  return min + (max - min) * random();
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** Rounds half away from zero; `+ 0` turns -0 into 0 so rows compare and print cleanly. */
function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.sign(value) * Math.round(Math.abs(value) * scale) / scale + 0;
}

const round2 = (value: number) => round(value, 2);

function isoDay(dayMs: number): string {
  return new Date(dayMs).toISOString().slice(0, 10);
}

function isWeekday(dayMs: number): boolean {
  const weekday = new Date(dayMs).getUTCDay();
  return weekday !== 0 && weekday !== 6;
}

function previousWeekday(dayMs: number): number {
  let day = dayMs - DAY_MS;
  while (!isWeekday(day)) day -= DAY_MS;
  return day;
}

function utcDayOf(today: Date): number {
  if (!(today instanceof Date) || Number.isNaN(today.getTime())) throw new TypeError('demo data: today must be a valid Date');
  return Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
}

/** Every calendar day from the first of the month two years back up to today: two full years and a bit. */
function calendarDays(today: Date): number[] {
  const last = utcDayOf(today);
  const first = Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - CALENDAR_MONTHS, 1);
  const days: number[] = [];
  for (let day = first; day <= last; day += DAY_MS) days.push(day);
  return days;
}

/** Weekdays are open, weekends closed; exchange holidays are not modelled. */
export function openDays(today: Date): string[] {
  return calendarDays(today).filter(isWeekday).map(isoDay);
}

/** A day's final ingest: 10:00 UTC, after the Shanghai close (07:00 UTC) and the loader's run. */
function ingestedOn(day: string, hourUtc = 10): Ingested {
  const seconds = Date.parse(`${day}T${String(hourUtc).padStart(2, '0')}:00:00Z`) / 1000;
  return { version: seconds, _ingested_at: seconds };
}

/** The early, partial ingest of the newest trading day, replaced by the final one later. */
const EARLY_INGEST_HOUR_UTC = 7;

export function tradeCalendarRows(today: Date): TradeCalendarRow[] {
  const days = calendarDays(today);
  const ingest = ingestedOn(isoDay(days[0]));
  return EXCHANGES.flatMap((exchange) =>
    days.map((day) => ({
      exchange,
      cal_date: isoDay(day),
      is_open: isWeekday(day) ? 1 : 0,
      pretrade_date: isoDay(previousWeekday(day)),
      ...ingest,
    })),
  );
}

function marketOf(code: string): string {
  if (code.startsWith('300') || code.startsWith('301')) return '创业板';
  if (code.startsWith('688')) return '科创板';
  return '主板';
}

/** 万科A's renaming shows as two versions of its row: the older one under its former short name. */
const RENAMED = { ts_code: '000002.SZ', formerName: '万 科Ａ' };

export function stockBasicRows(today: Date): StockBasicRow[] {
  const ingest = ingestedOn(isoDay(utcDayOf(today)));
  const rows = STOCKS.map(([ts_code, name, area, industry, list_date]) => ({
    ts_code,
    symbol: ts_code.slice(0, 6),
    name,
    area,
    industry,
    market: marketOf(ts_code),
    list_date,
    delist_date: null,
    list_status: 'L',
    ...ingest,
  }));
  const renamed = rows.find((row) => row.ts_code === RENAMED.ts_code)!;
  return [...rows, { ...renamed, name: RENAMED.formerName, ...ingestedOn(isoDay(utcDayOf(today)), EARLY_INGEST_HOUR_UTC) }];
}

interface Session {
  bar: DailyRow;
  basic: DailyBasicRow;
  factor: AdjFactorRow;
}

/** Loss-making companies have no PE (tushare leaves pe and pe_ttm empty). */
const LOSS_MAKING = new Set(['000002.SZ', '688981.SH']);

/** Per-stock constants drawn once from the stock's own random stream. */
function stockProfile(spec: StockSpec, random: () => number) {
  const [ts_code, , , , , price, hundredMillionShares] = spec;
  const totalShare = hundredMillionShares * 10_000;
  const floatShare = round(totalShare * between(random, 0.55, 1), 4);
  const marketValue = price * totalShare;
  const earnings = marketValue / between(random, 6, 60);
  return {
    ts_code,
    basePrice: price,
    totalShare,
    floatShare,
    freeShare: round(floatShare * between(random, 0.4, 0.9), 4),
    earnings: LOSS_MAKING.has(ts_code) ? -earnings : earnings,
    ttmEarnings: (LOSS_MAKING.has(ts_code) ? -earnings : earnings) * between(random, 0.85, 1.15),
    bookValue: marketValue / between(random, 0.5, 12),
    revenue: marketValue / between(random, 0.5, 15),
    ttmRevenue: marketValue / between(random, 0.5, 15),
    volatility: between(random, 0.012, 0.027),
    baseTurnover: between(random, 0.2, 2.5),
    // STAR-market companies here pay no dividend; the others once a year, in July.
    dividendYield: ts_code.startsWith('688') ? 0 : round(between(random, 0.005, 0.04), 4),
    exDividendDayOfJuly: 1 + Math.floor(random() * 20),
    firstFactor: round(between(random, 1, 20), 3),
    // Main-board daily price limit is 10%; ChiNext and STAR allow 20%.
    priceLimit: marketOf(ts_code) === '主板' ? 0.1 : 0.2,
  };
}

type StockProfile = ReturnType<typeof stockProfile>;

function nextBar(profile: StockProfile, tradeDate: string, preClose: number, random: () => number): DailyRow {
  const { volatility: sigma, priceLimit: limit } = profile;
  // Pull back towards the typical price so two years of random walk stay plausible.
  const drift = 0.02 * Math.log(profile.basePrice / preClose);
  const dayReturn = clamp(drift + sigma * standardNormal(random), -limit * 0.98, limit * 0.98);
  const close = Math.max(0.01, round2(preClose * (1 + dayReturn)));
  const open = Math.max(0.01, round2(preClose * (1 + clamp(0.4 * sigma * standardNormal(random), -limit, limit))));
  const wick = () => 0.5 * sigma * Math.abs(standardNormal(random));
  // Wicks stop at the daily price limits, as real prices do.
  const high = Math.max(open, close, Math.min(round2(preClose * (1 + limit)), round2(Math.max(open, close) * (1 + wick()))));
  const low = Math.min(open, close, Math.max(round2(preClose * (1 - limit)), round2(Math.min(open, close) * (1 - wick()))));
  // Volume rises with the size of the move, as it does on real tape.
  const turnoverRate = profile.baseTurnover * Math.exp(0.35 * standardNormal(random)) * (1 + 8 * Math.abs(dayReturn));
  const vol = Math.max(1, Math.round(turnoverRate * profile.floatShare));
  const averagePrice = (open + high + low + close) / 4;
  const change = round2(close - preClose);
  return {
    ts_code: profile.ts_code,
    trade_date: tradeDate,
    open,
    high,
    low,
    close,
    pre_close: preClose,
    change,
    pct_chg: round((change / preClose) * 100, 4),
    vol,
    amount: round((vol * averagePrice) / 10, 3),
    ...ingestedOn(tradeDate),
  };
}

function dailyBasicOf(profile: StockProfile, bar: DailyRow, recentVolumes: readonly number[]): DailyBasicRow {
  const totalMv = bar.close * profile.totalShare;
  const averageVolume = recentVolumes.length === 0 ? bar.vol : recentVolumes.reduce((sum, v) => sum + v, 0) / recentVolumes.length;
  const dividendYield = profile.dividendYield === 0 ? null : round((profile.dividendYield * profile.basePrice * 100) / bar.close, 4);
  const peOf = (earnings: number) => (earnings < 0 ? null : round(totalMv / earnings, 4));
  return {
    ts_code: bar.ts_code,
    trade_date: bar.trade_date,
    close: bar.close,
    // vol is in lots of 100 shares and float_share in 10k shares, so vol / float_share is already a percentage.
    turnover_rate: round(bar.vol / profile.floatShare, 4),
    turnover_rate_f: round(bar.vol / profile.freeShare, 4),
    volume_ratio: round2(bar.vol / averageVolume),
    pe: peOf(profile.earnings),
    pe_ttm: peOf(profile.ttmEarnings),
    pb: round(totalMv / profile.bookValue, 4),
    ps: round(totalMv / profile.revenue, 4),
    ps_ttm: round(totalMv / profile.ttmRevenue, 4),
    dv_ratio: dividendYield,
    dv_ttm: dividendYield,
    total_share: profile.totalShare,
    float_share: profile.floatShare,
    free_share: profile.freeShare,
    total_mv: round(totalMv, 4),
    circ_mv: round(bar.close * profile.floatShare, 4),
    ...ingestedOn(bar.trade_date),
  };
}

/** The stock's ex-dividend day in a July: its first trading day on or after its day of the month. */
function isExDividendDay(profile: StockProfile, day: string, previousDay: string | undefined): boolean {
  if (profile.dividendYield === 0 || day.slice(5, 7) !== '07') return false;
  const exDay = `${day.slice(0, 8)}${String(profile.exDividendDayOfJuly).padStart(2, '0')}`;
  return day >= exDay && (previousDay === undefined || previousDay < exDay);
}

/**
 * Raw (unadjusted) bars, as tushare stores them: on an ex-dividend day pre_close is the ex-rights
 * reference price, below the previous close by the dividend, and adj_factor rises by the same
 * ratio, so close × adj_factor runs on without a gap.
 */
function* sessionsOf(spec: StockSpec, days: readonly string[]): Generator<Session> {
  const random = mulberry32(hashSeed(spec[0]));
  const profile = stockProfile(spec, random);
  const listDate = spec[4];
  let preClose = profile.basePrice;
  let factor = profile.firstFactor;
  let previousDay: string | undefined;
  const recentVolumes: number[] = [];
  for (const day of days) {
    if (day < listDate) continue;
    if (isExDividendDay(profile, day, previousDay)) {
      const exReference = round2(preClose * (1 - profile.dividendYield));
      factor = round((factor * preClose) / exReference, 3);
      preClose = exReference;
    }
    const bar = nextBar(profile, day, preClose, random);
    yield { bar, basic: dailyBasicOf(profile, bar, recentVolumes), factor: { ts_code: bar.ts_code, trade_date: day, adj_factor: factor, ...ingestedOn(day) } };
    preClose = bar.close;
    previousDay = day;
    recentVolumes.push(bar.vol);
    if (recentVolumes.length > 5) recentVolumes.shift();
  }
}

function* allSessions(today: Date): Generator<Session> {
  const days = openDays(today);
  for (const spec of STOCKS) yield* sessionsOf(spec, days);
}

export function* dailyRows(today: Date): Generator<DailyRow> {
  for (const session of allSessions(today)) yield session.bar;
}

export function* dailyBasicRows(today: Date): Generator<DailyBasicRow> {
  for (const session of allSessions(today)) yield session.basic;
}

export function* adjFactorRows(today: Date): Generator<AdjFactorRow> {
  for (const session of allSessions(today)) yield session.factor;
}

/**
 * The early ingest of the newest trading day, for every stock: bars with 70% of the final volume
 * and amount, valuation rows without turnover yet. Older `version` than the final rows.
 */
export function* earlyIngestRows(today: Date): Generator<{ table: 'ods_daily'; row: DailyRow } | { table: 'ods_daily_basic'; row: DailyBasicRow }> {
  const lastDay = openDays(today).at(-1);
  const early = lastDay === undefined ? undefined : ingestedOn(lastDay, EARLY_INGEST_HOUR_UTC);
  for (const session of allSessions(today)) {
    if (session.bar.trade_date !== lastDay || !early) continue;
    yield { table: 'ods_daily', row: { ...session.bar, vol: Math.round(session.bar.vol * 0.7), amount: round(session.bar.amount * 0.7, 3), ...early } };
    yield { table: 'ods_daily_basic', row: { ...session.basic, turnover_rate: null, turnover_rate_f: null, volume_ratio: null, ...early } };
  }
}

export function* inBatches<T>(rows: Iterable<T>, size: number): Generator<T[]> {
  let batch: T[] = [];
  for (const row of rows) {
    batch.push(row);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

function* ofTable<T extends string>(rows: Iterable<{ table: T; row: DemoRow }>, table: T): Generator<DemoRow> {
  for (const entry of rows) if (entry.table === table) yield entry.row;
}

/**
 * Every demo table's rows in insert-sized batches. The early ingests go in their own inserts
 * after the final rows, as the loader's runs would: their own parts, so until ClickHouse merges
 * them the tables really hold two versions of those keys. ods_stock_basic comes last, so tools
 * list stocks only once their bars are in.
 */
export function* demoDataBatches(today: Date, batchSize: number): Generator<DemoBatch> {
  const tables: [string, Iterable<DemoRow>][] = [
    ['ods_trade_calendar', tradeCalendarRows(today)],
    ['ods_daily', dailyRows(today)],
    ['ods_daily_basic', dailyBasicRows(today)],
    ['ods_adj_factor', adjFactorRows(today)],
    ['ods_daily', ofTable(earlyIngestRows(today), 'ods_daily')],
    ['ods_daily_basic', ofTable(earlyIngestRows(today), 'ods_daily_basic')],
    ['ods_stock_basic', stockBasicRows(today)],
  ];
  for (const [table, rows] of tables) {
    for (const batch of inBatches(rows, batchSize)) yield { table, rows: batch };
  }
}
