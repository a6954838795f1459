// HTTP load through autocannon, with exact latency percentiles and CPU accounting.
import autocannon from 'autocannon';
import { Sample, percentile } from './stats.mjs';
import { startCpuMeter } from './processes.mjs';

const sum = (values) => values.reduce((total, value) => total + value, 0);

/** Rate and percentiles of a run (or of several merged). */
function describe(run) {
  return { ...run, requestsPerSecond: run.ok / run.seconds, p50Ms: percentile(run.latencies, 50), p99Ms: percentile(run.latencies, 99) };
}

/**
 * Sends the same POST (or, with `nextBody`, the body it gives for each request) from
 * `connections` concurrent keep-alive clients for `seconds`.
 * Latency percentiles are exact, from every 2xx response time (autocannon's own histogram has
 * 1 ms resolution, too coarse for sub-millisecond calls). `verifyBody` must return true for a
 * correct answer; anything else counts as a mismatch. `cpuPids` names processes whose CPU use
 * over the run is reported in cores (plus `self`, this process: the load generator, and `other`).
 */
export async function runLoad({ url, headers, body, nextBody, connections, seconds, verifyBody, cpuPids = {} }) {
  const latencies = new Sample();
  const meter = startCpuMeter({ self: process.pid, ...cpuPids });
  const requests = nextBody ? { requests: [{ setupRequest: (request) => ({ ...request, body: nextBody() }) }] } : { body };
  // What went wrong, for the report: statuses other than 2xx, the first wrong body, the first socket error.
  const failed = { statuses: {}, body: undefined, error: undefined };
  const verify = verifyBody && ((text) => verifyBody(text) || ((failed.body ??= text.slice(0, 300)), false));
  const instance = autocannon({ url, method: 'POST', headers, ...requests, connections, duration: seconds, timeout: 10, verifyBody: verify });
  instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTimeMs);
    else failed.statuses[statusCode] = (failed.statuses[statusCode] ?? 0) + 1;
  });
  instance.on('reqError', (error) => (failed.error ??= error.message));
  const result = await instance;
  const { seconds: elapsed, cores } = meter.stop();
  return describe({
    connections,
    seconds: elapsed,
    ok: latencies.values.length - result.mismatches,
    latencies: latencies.values,
    failures: { non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts, mismatches: result.mismatches },
    failed,
    cores,
    /** Spread of the per-second rate (autocannon samples each second), relative to its mean. */
    rateSpread: result.requests.mean > 0 ? result.requests.stddev / result.requests.mean : Number.NaN,
  });
}

/** Several runs of one target as one: rates over their total time, percentiles over all responses. */
export function combineRuns(runs) {
  const seconds = sum(runs.map((run) => run.seconds));
  const weighted = (pick) => (runs.some((run) => pick(run) === undefined) ? undefined : sum(runs.map((run) => pick(run) * run.seconds)) / seconds);
  const latencies = new Float64Array(sum(runs.map((run) => run.latencies.length)));
  runs.reduce((offset, run) => (latencies.set(run.latencies, offset), offset + run.latencies.length), 0);
  return describe({
    connections: runs[0].connections,
    seconds,
    ok: sum(runs.map((run) => run.ok)),
    latencies,
    failures: Object.fromEntries(Object.keys(runs[0].failures).map((key) => [key, sum(runs.map((run) => run.failures[key]))])),
    failed: runs.find((run) => failureCount(run) > 0)?.failed,
    cores: Object.fromEntries(Object.keys(runs[0].cores).map((key) => [key, weighted((run) => run.cores[key])])),
    rateSpread: weighted((run) => run.rateSpread),
  });
}

export const failureCount = ({ failures }) => failures.non2xx + failures.errors + failures.mismatches;

/** What the failures of a run were, in one line (statuses, the first wrong body, the first socket error). */
export const failureDetail = ({ failures, failed }) =>
  [
    `${failures.non2xx} non-2xx${failed && Object.keys(failed.statuses).length > 0 ? ` (${Object.entries(failed.statuses).map(([status, n]) => `${status}: ${n}`).join(', ')})` : ''}`,
    `${failures.errors} socket errors (${failures.timeouts} timeouts)${failed?.error ? `, first: ${failed.error}` : ''}`,
    `${failures.mismatches} wrong bodies${failed?.body ? `, first: \`${failed.body.replaceAll('`', "'")}\`` : ''}`,
  ].join('; ');
