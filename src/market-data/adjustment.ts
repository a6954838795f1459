import { type Sql, date, join, sql, str } from '../clickhouse/sql.js';
import type { MarketDataRepository, Row } from './market-data.repository.js';
import { ToolError } from './stock-tool.js';

export type Adjustment = 'none' | 'qfq' | 'hfq';

/** The table adjusted prices come from besides the bars: a key's table scope must include it (StockTool.alsoReads). */
export const readsForAdjustment = (args: { adjust: Adjustment }): readonly string[] => (args.adjust === 'none' ? [] : ['ods_adj_factor']);

const PRICE_COLUMNS = ['open', 'high', 'low', 'close', 'pre_close'] as const;
const DAY_MS = 86_400_000;
/** How far before the first bar a factor is looked for, when that day has none of its own. */
const FACTOR_LOOKBACK_DAYS = 31;

interface Factor {
  trade_date: string;
  adj_factor: number | null;
}

/**
 * Two decimals as Python's '%.2f' writes them (pro_bar's FORMAT): the exact binary value rounded,
 * an exact tie to even. (toFixed also rounds the exact value, but takes a tie upwards.)
 */
export function round2(value: number): number {
  // A double is exactly halfway between two cents only when it is an odd number of eighths
  // (x * 8 is exact); elsewhere toFixed rounds the exact binary value, as '%.2f' does.
  const eighths = value * 8;
  if (Number.isInteger(eighths) && Math.abs(eighths) % 2 === 1) {
    const down = Math.floor(value * 100);
    return (down % 2 === 0 ? down : down + 1) / 100 + 0;
  }
  return Number(value.toFixed(2)) + 0;
}

/**
 * Adjusted prices as tushare's pro_bar computes them from ods_adj_factor: hfq (backward) multiplies
 * each price by that day's factor; qfq (forward) multiplies by it and divides by the code's newest
 * factor up to `rangeEnd` (the request's end_date; the newest of all without one), so prices at
 * the end of the range stay as traded. open, high, low, close and pre_close are adjusted and
 * rounded to 2 decimals as pro_bar formats them, change and pct_chg recomputed from them, volumes
 * kept, and each row gains its adj_factor. A day without a factor row takes the latest earlier one.
 */
export async function adjustBars(bars: Row[], adjustment: Adjustment, data: MarketDataRepository, rangeEnd?: string): Promise<Row[]> {
  if (adjustment === 'none' || bars.length === 0) return bars;
  const factors = await factorsFor(bars, data, rangeEnd);
  const reference = new Map([...factors].map(([code, series]) => [code, series.length > 0 ? Number(series[series.length - 1].adj_factor) : undefined]));
  return bars.map((bar) => {
    const code = String(bar.ts_code);
    const factor = factorOn(factors, code, String(bar.trade_date));
    const adjusted: Row = { ...bar, adj_factor: factor };
    for (const column of PRICE_COLUMNS) {
      const price = bar[column];
      if (typeof price !== 'number') continue;
      adjusted[column] = round2(adjustment === 'hfq' ? price * factor : (price * factor) / reference.get(code)!);
    }
    if (typeof adjusted.close === 'number' && typeof adjusted.pre_close === 'number' && 'change' in bar) {
      adjusted.change = round2(adjusted.close - adjusted.pre_close);
      if ('pct_chg' in bar) adjusted.pct_chg = adjusted.pre_close === 0 ? null : round2(((adjusted.close - adjusted.pre_close) / adjusted.pre_close) * 100);
    }
    return adjusted;
  });
}

/** Each code's factors from a month before its first bar up to `rangeEnd` (or the newest), oldest first. */
async function factorsFor(bars: Row[], data: MarketDataRepository, rangeEnd: string | undefined): Promise<Map<string, Factor[]>> {
  const codes = [...new Set(bars.map((bar) => String(bar.ts_code)))];
  const firstDay = bars.map((bar) => String(bar.trade_date)).sort()[0];
  const from = new Date(Date.parse(`${firstDay}T00:00:00Z`) - FACTOR_LOOKBACK_DAYS * DAY_MS);
  const until = rangeEnd ? sql` AND trade_date <= ${date(rangeEnd)}` : sql``;
  const where: Sql = sql`ts_code IN (${join(codes.map(str), ', ')}) AND trade_date >= ${date(from)}${until}`;
  const rows = await data.rows<Factor & { ts_code: string }>(
    sql`SELECT * FROM ${data.latest('ods_adj_factor', ['ts_code', 'trade_date'], ['ts_code', 'trade_date', 'adj_factor'], where)} ORDER BY ts_code, trade_date`,
  );
  const byCode = new Map<string, Factor[]>(codes.map((code) => [code, []]));
  for (const row of rows) if (row.adj_factor !== null) byCode.get(row.ts_code)?.push(row);
  return byCode;
}

export const noFactors = (code: string, day?: string) =>
  new ToolError(`No adjustment factors for ${code} in ods_adj_factor${day ? ` around ${day}` : ''}, so adjusted prices cannot be computed; ask with adjust: "none"`);

/** The factor of that day, else the latest earlier one, else the earliest later one (a binary search: series are oldest first). */
function factorOn(factors: Map<string, Factor[]>, code: string, day: string): number {
  const series = factors.get(code) ?? [];
  if (series.length === 0) throw noFactors(code, day);
  let onOrBefore = 0;
  let after = series.length;
  while (after - onOrBefore > 1) {
    const middle = (onOrBefore + after) >> 1;
    if (series[middle].trade_date <= day) onOrBefore = middle;
    else after = middle;
  }
  return Number(series[onOrBefore].adj_factor);
}

