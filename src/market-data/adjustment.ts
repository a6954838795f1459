import { type Sql, date, join, sql, str } from '../clickhouse/sql.js';
import type { MarketDataRepository } from './market-data.repository.js';
import { ToolError, type Row } from './stock-tool.js';

export type Adjustment = 'none' | 'qfq' | 'hfq';

const PRICE_COLUMNS = ['open', 'high', 'low', 'close', 'pre_close'] as const;
const DAY_MS = 86_400_000;
/** How far before the first bar a factor is looked for, when that day has none of its own. */
const FACTOR_LOOKBACK_DAYS = 31;

interface Factor {
  trade_date: string;
  adj_factor: number | null;
}

const round2 = (value: number) => Math.round(value * 100) / 100 + 0;

/**
 * Adjusted prices as tushare's pro_bar computes them from ods_adj_factor: hfq (backward) multiplies
 * each price by that day's factor; qfq (forward) also divides by the factor of the code's last bar
 * in the result, so the newest prices stay as traded. open, high, low, close and pre_close are
 * adjusted and rounded to 2 decimals, change and pct_chg recomputed from them, volumes kept, and
 * each row gains its adj_factor. A day without a factor row takes the latest earlier factor.
 */
export async function adjustBars(bars: Row[], adjustment: Adjustment, data: MarketDataRepository): Promise<Row[]> {
  if (adjustment === 'none' || bars.length === 0) return bars;
  const factors = await factorsFor(bars, data);
  const lastDay = new Map<string, string>();
  for (const bar of bars) {
    const [code, day] = [String(bar.ts_code), String(bar.trade_date)];
    if (day > (lastDay.get(code) ?? '')) lastDay.set(code, day);
  }
  const reference = new Map([...lastDay].map(([code, day]) => [code, factorOn(factors, code, day)]));
  return bars.map((bar) => {
    const factor = factorOn(factors, String(bar.ts_code), String(bar.trade_date));
    const scale = adjustment === 'hfq' ? factor : factor / reference.get(String(bar.ts_code))!;
    const adjusted: Row = { ...bar, adj_factor: factor };
    for (const column of PRICE_COLUMNS) if (typeof bar[column] === 'number') adjusted[column] = round2((bar[column]) * scale);
    if (typeof adjusted.close === 'number' && typeof adjusted.pre_close === 'number' && 'change' in bar) {
      adjusted.change = round2(adjusted.close - adjusted.pre_close);
      if ('pct_chg' in bar) adjusted.pct_chg = adjusted.pre_close === 0 ? null : round2(((adjusted.close - adjusted.pre_close) / adjusted.pre_close) * 100);
    }
    return adjusted;
  });
}

async function factorsFor(bars: Row[], data: MarketDataRepository): Promise<Map<string, Factor[]>> {
  const codes = [...new Set(bars.map((bar) => String(bar.ts_code)))];
  const days = bars.map((bar) => String(bar.trade_date)).sort();
  const from = new Date(Date.parse(`${days[0]}T00:00:00Z`) - FACTOR_LOOKBACK_DAYS * DAY_MS);
  const where: Sql = sql`ts_code IN (${join(codes.map(str), ', ')}) AND trade_date >= ${date(from)} AND trade_date <= ${date(days[days.length - 1])}`;
  const rows = await data.rows<Factor & { ts_code: string }>(
    sql`SELECT * FROM ${data.latest('ods_adj_factor', ['ts_code', 'trade_date'], ['ts_code', 'trade_date', 'adj_factor'], where)} ORDER BY ts_code, trade_date`,
  );
  const byCode = new Map<string, Factor[]>(codes.map((code) => [code, []]));
  for (const row of rows) if (row.adj_factor !== null) byCode.get(row.ts_code)?.push(row);
  return byCode;
}

/** The factor of that day, else the latest earlier one, else the earliest later one. */
function factorOn(factors: Map<string, Factor[]>, code: string, day: string): number {
  const series = factors.get(code) ?? [];
  if (series.length === 0) throw new ToolError(`No adjustment factors for ${code} in ods_adj_factor around ${day}, so adjusted prices cannot be computed; ask with adjust: "none"`);
  let found = series[0];
  for (const factor of series) if (factor.trade_date <= day) found = factor;
  return Number(found.adj_factor);
}
