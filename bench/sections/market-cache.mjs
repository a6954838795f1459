// The market data cache: a popular-stocks workload, gateway (cache on) vs the bare server (which
// asks ClickHouse every time), and how soon a corrected bar inserted straight into ClickHouse shows.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { queryRows } from '../lib/clickhouse.mjs';
import { importDist } from '../lib/dist.mjs';
import { table } from '../lib/markdown.mjs';
import { formatInt, formatNumber, formatPercent, percentile } from '../lib/stats.mjs';
import { failuresOf, measureLevels, ratioRow, resultRow, resultTable, targetsFor, usageRowsOf, waitForUsageRows } from './mcp-throughput.mjs';

/** Targets from the issue: gateway calls/s ≥ 3× the bare server's, ClickHouse selects/s down ≥ 90%. */
const TARGET_SPEEDUP = 3;
const TARGET_SELECT_CUT = 0.9;
/** MARKET_CACHE_CHECK_MS's default, and the bound it gives. */
const FRESHNESS_BOUND_MS = 2000;
const WINDOWS = [5, 20, 60];
const FRESHNESS_TRIALS = 8;
const ZIPF_EXPONENT = 1;
const PLANNED_CALLS = 50_000;

/** Picks index i of n with probability ∝ 1 / (i + 1)^s. */
function zipfSampler(n, random) {
  const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** ZIPF_EXPONENT);
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const cumulative = [];
  weights.reduce((sum, weight) => (cumulative.push((sum + weight) / total), sum + weight), 0);
  return () => {
    const point = random();
    const index = cumulative.findIndex((edge) => point <= edge);
    return index === -1 ? n - 1 : index;
  };
}

const callBody = (args) => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_daily_bars', arguments: args } });

/** get_daily_bars of a Zipf-popular code over its last 5, 20 or 60 trading days: the agents' calls. */
async function popularStocksWorkload(ctx) {
  const codes = (await queryRows(ctx.clickhouse.client, 'SELECT DISTINCT ts_code FROM ods_daily ORDER BY ts_code')).map((row) => row.ts_code);
  const days = (await queryRows(ctx.clickhouse.client, 'SELECT DISTINCT toString(trade_date) AS day FROM ods_daily ORDER BY day DESC LIMIT 60')).map((row) => row.day);
  // The demo data's seeded generator: the same workload on every run and for both servers.
  const { mulberry32 } = await importDist(ctx.distDir, 'market-data/demo-data/demo-data.generator.js');
  const random = mulberry32(21);
  const pickCode = zipfSampler(codes.length, random);
  const bodies = Array.from({ length: PLANNED_CALLS }, () => {
    const window = WINDOWS[Math.floor(random() * WINDOWS.length)];
    return callBody({ ts_code: codes[pickCode()], start_date: days[window - 1], end_date: days[0] });
  });
  let next = 0;
  return {
    codes: codes.length,
    pairs: new Set(bodies).size,
    workload: {
      nextBody: () => bodies[next++ % bodies.length],
      verifyBody: (body) => body.includes('"row_count":') && !body.includes('"row_count":0,') && !body.includes('"isError":true') && !body.includes('"error":{'),
    },
  };
}

async function rpc(url, headers, body) {
  const response = await fetch(url, { method: 'POST', headers, body });
  const parsed = await response.json();
  if (response.status !== 200 || parsed.error || parsed.result?.isError) throw new Error(`tools/call failed: HTTP ${response.status} ${JSON.stringify(parsed).slice(0, 300)}`);
  return parsed.result;
}

/** A gateway with the market cache on (the defaults), on the bench's database, stopped by `use`'s end. */
async function withCachedGateway(ctx, name, use) {
  const metricsToken = randomBytes(24).toString('hex');
  const gateway = await ctx.startGateway({ spoolDir: join(ctx.scratchDir, `spool-${name}`), env: { METRICS_TOKEN: metricsToken, MARKET_CACHE_MAX_BYTES: String(64 * 1024 * 1024) } });
  try {
    return await use(gateway, metricsToken);
  } finally {
    await gateway.stop();
  }
}

async function cacheCounts(gateway, metricsToken) {
  const response = await fetch(gateway.restUrl + '/metrics', { headers: { authorization: `Bearer ${metricsToken}` } });
  const text = await response.text();
  const value = (name) => Number(new RegExp(`^mcp_market_cache_${name} (\\S+)$`, 'm').exec(text)?.[1]);
  return { hits: value('hits_total'), shared: value('shared_total'), misses: value('misses_total'), bytes: value('bytes'), entries: value('entries') };
}

async function measurePopularStocks(ctx) {
  const { codes, pairs, workload } = await popularStocksWorkload(ctx);
  return withCachedGateway(ctx, 'popular', async (gateway, metricsToken) => ({
    codes,
    pairs,
    ...(await measureWorkload(ctx, gateway, workload)),
    cache: await cacheCounts(gateway, metricsToken),
  }));
}

/** The popular-stocks workload through the bench's gateway, whose cache is off: what the gateway itself costs. */
async function measurePopularStocksUncached(ctx) {
  const { codes, pairs, workload } = await popularStocksWorkload(ctx);
  return { codes, pairs, ...(await measureWorkload(ctx, ctx.gateway, workload)) };
}

/** `workload` on `gateway` and the bare server, checked to answer alike, at each concurrency (ABBA rounds). */
async function measureWorkload(ctx, gateway, workload) {
  const targets = targetsFor(gateway, ctx.bare, ctx.users.load.apiKey);
  const sample = workload.nextBody();
  const [viaGateway, viaBare] = [await rpc(targets.gateway.url, targets.gateway.headers, sample), await rpc(targets.bare.url, targets.bare.headers, sample)];
  if (JSON.stringify(viaGateway.structuredContent) !== JSON.stringify(viaBare.structuredContent)) throw new Error('the gateway and the bare server answered the same call differently');
  const usageBefore = await usageRowsOf(ctx, ctx.users.load.id);
  const measured = await measureLevels(targets, ctx, workload);
  const usageRows = (await waitForUsageRows(ctx, ctx.users.load.id, usageBefore + measured.gatewayAnswered)) - usageBefore;
  return { ...measured, usageRows };
}

function comparisonRow(connections, { gateway, bare }) {
  const speedup = gateway.requestsPerSecond / bare.requestsPerSecond;
  const selectCut = 1 - gateway.clickhouse.selects / bare.clickhouse.selects;
  return [
    connections,
    'gateway ÷ bare',
    `**${formatNumber(speedup)}×** (${speedup >= TARGET_SPEEDUP ? 'meets' : '**misses**'} ≥${TARGET_SPEEDUP}×)`,
    `${formatNumber(gateway.p50Ms)} vs ${formatNumber(bare.p50Ms)}`,
    `${formatNumber(gateway.p99Ms)} vs ${formatNumber(bare.p99Ms)}`,
    '',
    '',
    `selects **−${formatPercent(selectCut)}** (${selectCut >= TARGET_SELECT_CUT ? 'meets' : '**misses**'} ≥${formatPercent(TARGET_SELECT_CUT)})`,
    '',
  ];
}

const workloadText = ({ codes, pairs }) =>
  `\`get_daily_bars\` of one of the ${codes} demo codes, chosen by Zipf (s = ${ZIPF_EXPONENT}, the first codes the most popular), over its last 5, 20 or 60 trading days ` +
  `(one of the three at random): ${formatInt(pairs)} distinct (code, window) calls in a fixed sequence of ${formatInt(PLANNED_CALLS)}, the same for both servers. `;

const roundsText = ({ warmups }, ctx) =>
  `Each server was loaded until steady first (gateway ${warmups.gateway.seconds} s, bare ${warmups.bare.seconds} s); then per row ${ctx.options.rounds} rounds of ` +
  `${ctx.options.warmupSeconds} s warm-up and ${ctx.options.durationSeconds} s measured, ABBA. `;

const usageText = ({ usageRows, gatewayAnswered }, failures) =>
  `Failed calls (warm-ups included): ${failures === 0 ? 'none' : `**${failures} — these figures are invalid**`}. ` +
  `Usage recording: ${formatInt(usageRows)} rows for ${formatInt(gatewayAnswered)} answered gateway calls` +
  `${usageRows >= gatewayAnswered ? ' (every answered call recorded; calls still under way when a run stopped are recorded too, but not counted as answered).' : ' — **rows missing**.'}`;

function renderPopularStocksUncached(data, ctx) {
  const rows = data.levels.flatMap((level) => [resultRow(level.connections, 'gateway (cache off)', level.gateway), resultRow(level.connections, 'bare SDK', level.bare), ratioRow(level.connections, level)]);
  return [
    workloadText(data) +
      'Gateway: the real app with its market cache off (`MARKET_CACHE_MAX_BYTES=0`), so both servers ask ClickHouse on every call and the difference is what the gateway adds (key check, metering, usage recording). ' +
      roundsText(data, ctx),
    resultTable(rows),
    usageText(data, failuresOf(data)),
  ].join('\n\n');
}

function renderPopularStocks(data, ctx) {
  const { levels, cache } = data;
  const failures = failuresOf(data);
  const looked = cache.hits + cache.shared + cache.misses;
  const rows = levels.flatMap((level) => [resultRow(level.connections, 'gateway (cache on)', level.gateway), resultRow(level.connections, 'bare SDK', level.bare), comparisonRow(level.connections, level)]);
  return [
    workloadText(data) +
      'Gateway: the real app with the market cache at its defaults (64 MiB, checks every 1000 ms), key check and usage recording. Bare: `bench/bare-mcp-server.mjs`, ' +
      'the same tool code with no cache, asking ClickHouse on every call. ' +
      roundsText(data, ctx) +
      'ClickHouse selects/s: its `system.events` SelectQuery over the measured window (the gateway\'s include its change checks and usage writes).',
    resultTable(rows),
    `Cache over the whole section: ${formatInt(cache.hits)} hits, ${formatInt(cache.shared)} shared with an identical query under way, ${formatInt(cache.misses)} misses ` +
      `(${formatPercent((cache.hits + cache.shared) / looked)} answered without a query of their own); ${formatInt(cache.entries)} entries, ${formatNumber(cache.bytes / 1048576)} MiB at the end.`,
    usageText(data, failures),
  ].join('\n\n');
}

export const popularStocksUncached = {
  title: 'Popular-stocks workload, gateway (cache off) vs bare SDK server',
  measure: measurePopularStocksUncached,
  render: renderPopularStocksUncached,
};

export const popularStocks = {
  title: 'Market cache: popular-stocks workload, gateway (cache on) vs bare SDK server',
  measure: measurePopularStocks,
  render: renderPopularStocks,
};

/**
 * Freshness: a cached answer, then a corrected bar (the same key, a higher version, a new close)
 * inserted straight into ClickHouse, then calls back to back until the new close is answered.
 */
async function measureFreshness(ctx) {
  return withCachedGateway(ctx, 'freshness', async (gateway) => {
    const headers = targetsFor(gateway, ctx.bare, ctx.users.load.apiKey).gateway.headers;
    const [{ day }] = await queryRows(ctx.clickhouse.client, "SELECT toString(max(trade_date)) AS day FROM ods_daily WHERE ts_code = '000001.SZ'");
    const body = callBody({ ts_code: '000001.SZ', start_date: day, end_date: day });
    const call = () => rpc(gateway.mcpUrl, headers, body);
    const trials = [];
    for (let trial = 0; trial < FRESHNESS_TRIALS; trial++) {
      let warmups = 0;
      while (!(await call())._meta.usage.cached) if (++warmups > 500) throw new Error('the answer never came from the cache');
      const [bar] = await queryRows(ctx.clickhouse.client, `SELECT * FROM ods_daily WHERE ts_code = '000001.SZ' AND trade_date = '${day}' ORDER BY version DESC LIMIT 1`);
      const close = Math.round((Number(bar.close) + 0.01 * (trial + 1)) * 100) / 100;
      await ctx.clickhouse.client.insert({ table: 'ods_daily', values: [{ ...bar, close, version: Number(bar.version) + 1 }], format: 'JSONEachRow' });
      const acknowledgedAt = performance.now();
      let staleCalls = 0;
      while ((await call()).structuredContent.rows[0].close !== close) staleCalls++;
      trials.push({ ms: performance.now() - acknowledgedAt, staleCalls });
    }
    return { trials };
  });
}

function renderFreshness({ trials }) {
  const times = trials.map((trial) => trial.ms);
  const worst = Math.max(...times);
  return [
    `${trials.length} times: the answer of \`get_daily_bars\` for 000001.SZ's newest day is cached (calls until \`_meta.usage.cached\`), a corrected bar ` +
      '(same key, version + 1, a new close) is inserted straight into ClickHouse, and calls go back to back until the new close is answered. ' +
      'Time from the insert\'s acknowledgement to that answer:',
    table(
      ['', 'min', 'p50', 'max', 'bound'],
      [['ms', formatInt(Math.min(...times)), formatInt(percentile(times, 50)), formatInt(worst), `${FRESHNESS_BOUND_MS} (${worst <= FRESHNESS_BOUND_MS ? 'met' : '**missed**'})`]],
    ),
    `Stale answers before the new one, per trial: ${trials.map((trial) => trial.staleCalls).join(', ')}. Each insert comes just after a check ` +
      '(the warm-up ends on the first cached answer, which the check that dropped the previous trial\'s answer made possible), so the figure is close to one whole ' +
      'check interval, the usual worst case; the bound is 2 × MARKET_CACHE_CHECK_MS because nothing is served unless a check started within that long.',
  ].join('\n\n');
}

export const cacheFreshness = {
  title: 'Market cache: freshness after a corrected bar',
  measure: measureFreshness,
  render: renderFreshness,
};
