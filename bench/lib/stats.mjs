// Exact percentiles and number formatting for the report.

/** Nearest-rank percentile of an unsorted sample (p in 0..100). */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function mean(values) {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

/** p50, p99 and mean of a sample, in its own unit. */
export function summarize(values) {
  return { n: values.length, p50: percentile(values, 50), p99: percentile(values, 99), mean: mean(values) };
}

/** Times `fn` `n` times in a row and returns each duration in milliseconds. */
export async function timeEach(n, fn) {
  const durations = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await fn(i);
    durations.push(performance.now() - started);
  }
  return durations;
}

/** A growable Float64 sample that does not allocate per value (autocannon calls it per response). */
export class Sample {
  #values = new Float64Array(1 << 14);
  #length = 0;

  push(value) {
    if (this.#length === this.#values.length) {
      const bigger = new Float64Array(this.#values.length * 2);
      bigger.set(this.#values);
      this.#values = bigger;
    }
    this.#values[this.#length++] = value;
  }

  get values() {
    return this.#values.subarray(0, this.#length);
  }
}

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export const formatInt = (value) => (Number.isFinite(value) ? grouped.format(value) : 'n/a');

/** 0.123 → "0.12", 12.3 → "12.3", 1234 → "1,234": about three significant digits. */
export function formatNumber(value) {
  if (!Number.isFinite(value)) return 'n/a';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}

export const formatPercent = (ratio) => (Number.isFinite(ratio) ? `${Math.round(ratio * 100)}%` : 'n/a');

/** A difference with its sign: "+1.2", "-0.35". */
export const formatSigned = (value) => (Number.isFinite(value) && value >= 0 ? `+${formatNumber(value)}` : formatNumber(value));

/** Per-operation timings in µs from a tight loop (hrtime resolution, ~50 ns overhead per sample). */
export async function microseconds(iterations, fn) {
  const values = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const started = process.hrtime.bigint();
    await fn(i);
    values[i] = Number(process.hrtime.bigint() - started) / 1000;
  }
  return summarize(values);
}
