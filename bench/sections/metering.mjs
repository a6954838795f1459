// Cost of the metering a tools/call of a cached key goes through: scope, its admission (rate limit,
// quota checks and the reservation in one decision), counting the spooled record, settling the call
// (its count and the release), and the quotas for the result's _meta.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { join } from 'node:path';
import { hasRedisServer, startRedis } from '../../scripts/lib/local-redis.mjs';
import { appClickHouse, importDist } from '../lib/dist.mjs';
import { table } from '../lib/markdown.mjs';
import { Sample, formatInt, formatNumber, microseconds, summarize } from '../lib/stats.mjs';

const ITERATIONS = 200_000;
/** High enough never to refuse: the bench measures the checks, not refusals. */
const HIGH = 1_000_000_000_000;

async function loadParts(distDir) {
  const [{ MeteringService }, { UsageCountsRepository }, { UsageWriter }, { UsageRepository }, { SchemaService }, { scopeRefusal }] = await Promise.all([
    importDist(distDir, 'mcp-metering/metering.service.js'),
    importDist(distDir, 'mcp-metering/usage-counts.repository.js'),
    importDist(distDir, 'mcp-usage/usage-writer.js'),
    importDist(distDir, 'mcp-usage/usage.repository.js'),
    importDist(distDir, 'clickhouse/schema/schema.service.js'),
    importDist(distDir, 'mcp-keys/key-policy.js'),
  ]);
  return { MeteringService, UsageCountsRepository, UsageWriter, UsageRepository, SchemaService, scopeRefusal };
}

/** Shared counters cost Redis round trips: fewer calls measure them as well. */
const SHARED_ITERATIONS = 20_000;

/** Times one metered call of a cached key, `iterations` times, with metering configured by `extraEnv`. */
async function timeMeteredCalls(ctx, parts, extraEnv, iterations) {
  const env = { QUOTA_USER_RECORDS_PER_DAY: String(HIGH), QUOTA_USER_RECORDS_PER_MONTH: String(HIGH), QUOTA_USER_CALLS_PER_DAY: String(HIGH), USAGE_SPOOL_DIR: ctx.scratchDir, ...extraEnv };
  const { config, clickhouse } = await appClickHouse(ctx.distDir, ctx.clickhouse.url, ctx.clickhouse.database, env);
  try {
    const schema = new parts.SchemaService(clickhouse);
    const writer = new parts.UsageWriter(new parts.UsageRepository(clickhouse, schema), config);
    await schema.adoptAll();
    const clock = { now: () => new Date() };
    const metering = new parts.MeteringService(new parts.UsageCountsRepository(clickhouse), writer, clock, config);
    await metering.onModuleInit();
    const { keyId, id: userId } = ctx.users.load;
    // A key of its own per run: the shared counters start from the usage log, not from the other run.
    const key = { keyId: `${keyId}-${randomUUID()}`, userId, policy: { tools: [], tables: ['ods_daily'], callsPerMinute: 1_000_000_000, recordsPerDay: HIGH, recordsPerMonth: HIGH, callsPerDay: HIGH } };
    const tool = { name: 'get_daily_bars', table: 'ods_daily', maxRows: 1000 };
    // What verifying the key does once: the user's counters from the usage log.
    const readStarted = performance.now();
    await metering.countKeyUser(key);
    const counterRead = performance.now() - readStarted;

    // What a call waits for: its admission (the settlement is not awaited).
    let admissions = new Sample();
    const oneCall = async () => {
      if (parts.scopeRefusal(key.policy, tool)) throw new Error('the bench key was refused');
      const admitting = process.hrtime.bigint();
      const call = await metering.admitCall(key, tool.maxRows);
      admissions.push(Number(process.hrtime.bigint() - admitting) / 1000);
      const record = { id: randomUUID(), user_id: userId, api_key_id: key.keyId, record_count: 20, created_at: Math.floor(Date.now() / 1000) };
      metering.spooled(record);
      call.settle(record);
      call.quotasAfter(record.record_count);
    };
    await microseconds(Math.min(20_000, iterations), oneCall); // JIT warm-up
    const scriptsBefore = await redisScriptRuns(config);
    admissions = new Sample();
    const checked = await microseconds(iterations, oneCall);
    const scriptsAfter = await redisScriptRuns(config);
    const admission = summarize(admissions.values);
    // The same calls one at a time, each settlement done before the next admission: what a lone call waits for.
    const settled = settlementsOf(metering);
    const idleAdmission = settled
      ? await (async () => {
          admissions = new Sample();
          await microseconds(iterations, async () => {
            await oneCall();
            await settled();
          });
          return summarize(admissions.values);
        })()
      : undefined;
    const probe = await metering.admitCall(key, tool.maxRows);
    const rules = probe.quotasAfter(0).length;
    probe.end();
    metering.onModuleDestroy();
    const redisScripts = scriptsBefore && { perCall: (scriptsAfter.calls - scriptsBefore.calls) / iterations, usecEach: (scriptsAfter.usec - scriptsBefore.usec) / (scriptsAfter.calls - scriptsBefore.calls) };
    return { checked, admission, idleAdmission, counterRead, rules, redisScripts };
  } finally {
    await clickhouse.onApplicationShutdown();
  }
}

/**
 * Resolves once the metering's shared-counter commands sent so far have run, undefined without
 * shared counters. A call does not await its settlement; a PING on the same connection answers
 * after it, as Redis runs one connection's commands in order.
 */
function settlementsOf(metering) {
  const redis = metering.shared?.redis;
  return redis && (() => redis.ping());
}

/** A bare PING's round trip to the same Redis from this process: the floor under any command. */
async function pingRoundTrip(url) {
  const redis = new Redis(url);
  try {
    await microseconds(2_000, () => redis.ping());
    return await microseconds(SHARED_ITERATIONS, () => redis.ping());
  } finally {
    redis.disconnect();
  }
}

/** Scripts the metering Redis has run so far and the µs it spent in them (EVALSHA in INFO commandstats); undefined without one. */
async function redisScriptRuns(config) {
  if (!config.metering.redis) return undefined;
  const redis = new Redis(config.metering.redis.url);
  try {
    const stats = await redis.info('commandstats');
    const [, calls = '0', usec = '0'] = /^cmdstat_evalsha:calls=(\d+),usec=(\d+)/m.exec(stats) ?? [];
    return { calls: Number(calls), usec: Number(usec) };
  } finally {
    redis.disconnect();
  }
}

export async function measureMetering(ctx) {
  const parts = await loadParts(ctx.distDir);
  const local = await timeMeteredCalls(ctx, parts, {}, ITERATIONS);
  if (!hasRedisServer()) return { ...local, shared: undefined };
  const redis = await startRedis({ dir: join(ctx.scratchDir, 'redis') });
  try {
    const shared = await timeMeteredCalls(ctx, parts, { METERING_REDIS_URL: redis.url }, SHARED_ITERATIONS);
    return { ...local, shared: shared.checked, sharedAdmission: shared.admission, idleAdmission: shared.idleAdmission, redisScripts: shared.redisScripts, ping: await pingRoundTrip(redis.url) };
  } finally {
    await redis.stop();
  }
}

const latencyRow = (label, { p50, p99, mean, n }) => [label, formatNumber(p50), formatNumber(p99), formatNumber(mean), formatInt(n)];

export function renderMetering(data) {
  return [
    'What metering adds to one `tools/call` of a cached key, from the bench\'s build of src/, in a sequential loop in the bench process: ' +
      `scope, the call's admission (rate limit and ${data.rules} quotas: key and user, records per day and month, calls per day, with the reservation, in one decision), ` +
      'counting the spooled record, settling the call (its count and the release) and the quota states for `_meta` from the admission. No ClickHouse round trip; target ≤ 20 µs p99.',
    table(
      ['case', 'p50 µs', 'p99 µs', 'mean µs', 'calls'],
      [
        latencyRow('policy + quota checks, cached key', data.checked),
        ...(data.shared
          ? [
              latencyRow('the same with shared counters (METERING_REDIS_URL, a private redis-server on loopback), back to back', data.shared),
              latencyRow('… of which the admission, what the call waits for (behind the previous call\'s settlement)', data.sharedAdmission),
              latencyRow('the admission of a lone call (Redis idle: each settlement done before the next call)', data.idleAdmission),
            ]
          : []),
      ],
      ['l', 'r', 'r', 'r', 'r'],
    ),
    data.shared
      ? `With shared counters a call makes two Redis round trips, each one Lua script: its admission (rate limit, quotas and the hold) and its settlement (the count and the release, not awaited: back to back, the next call's admission runs after it on the connection; a lone call's admission finds Redis idle). Measured: ${formatNumber(data.redisScripts.perCall)} scripts (EVALSHA) per call, from Redis's INFO commandstats over the back-to-back loop, each ${formatNumber(data.redisScripts.usecEach)} µs inside Redis on average. The figures are latency on loopback, not CPU (target p50 ≤ 150 µs); a bare PING's round trip from the same process takes ${formatNumber(data.ping.p50)} µs p50 (${formatNumber(data.ping.p99)} µs p99) here.`
      : 'Shared counters not measured: no `redis-server` on this machine (scripts/ensure-cluster-tools.sh installs it).',
    `Reading a user's counters from \`mcp_tool_usage_log\` (once, when their key is verified): ${formatNumber(data.counterRead)} ms.`,
  ].join('\n\n');
}

export const metering = {
  title: 'Metering cost (policy and quota checks)',
  measure: measureMetering,
  render: renderMetering,
};
