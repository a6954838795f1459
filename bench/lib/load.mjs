// HTTP load through autocannon, with exact latency percentiles and CPU accounting.
import autocannon from 'autocannon';
import { Sample, percentile } from './stats.mjs';
import { startCpuMeter } from './processes.mjs';

/**
 * Sends the same POST from `connections` concurrent keep-alive clients for `seconds`.
 * Latency percentiles are exact, from every 2xx response time (autocannon's own histogram has
 * 1 ms resolution, too coarse for sub-millisecond calls). `verifyBody` must return true for a
 * correct answer; anything else counts as a mismatch. `cpuPids` names processes whose CPU use
 * over the run is reported in cores (`self` is this process, the load generator).
 */
export async function runLoad({ url, headers, body, connections, seconds, verifyBody, cpuPids = {} }) {
  const latencies = new Sample();
  const meter = startCpuMeter({ self: process.pid, ...cpuPids });
  const instance = autocannon({ url, method: 'POST', headers, body, connections, duration: seconds, timeout: 10, verifyBody });
  instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTimeMs);
  });
  const result = await instance;
  const { seconds: elapsed, cores } = meter.stop();
  const ok = latencies.values.length - result.mismatches;
  return {
    connections,
    seconds: elapsed,
    ok,
    requestsPerSecond: ok / elapsed,
    /** Spread of the per-second rate (autocannon samples each second), relative to its mean. */
    rateSpread: result.requests.mean > 0 ? result.requests.stddev / result.requests.mean : Number.NaN,
    p50Ms: percentile(latencies.values, 50),
    p99Ms: percentile(latencies.values, 99),
    failures: { non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts, mismatches: result.mismatches },
    cores,
  };
}

export const failureCount = ({ failures }) => failures.non2xx + failures.errors + failures.mismatches;
