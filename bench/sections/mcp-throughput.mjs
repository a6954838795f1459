// tools/call throughput and latency: the gateway (key auth + usage recording) vs a bare SDK server.
import { pollUntil } from '../../scripts/lib/poll.mjs';
import { queryRows, scalar, waitForMerges } from '../lib/clickhouse.mjs';
import { combineRuns, failureCount, failureDetail, runLoad } from '../lib/load.mjs';
import { table } from '../lib/markdown.mjs';
import { formatInt, formatNumber, formatPercent, formatSigned } from '../lib/stats.mjs';

/** Issue #21: the gateway with its cache off serves at least 90% of the bare server's calls/s. */
export const TARGET_RATIO = 0.9;
/** More CPU than this used by the rest of the machine during a measurement makes it suspect. */
const DISTURBED_CORES = 0.1;

/** The cheap call: search_stocks for one exact code, one row back. */
export const TOOL_CALL = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'search_stocks', arguments: { query: '000001.SZ', limit: 1 } },
});

const BASE_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** A correct answer is a JSON-RPC result with exactly one row and no error (cheap string checks: the load generator shares the CPU). */
export const isOneRowResult = (body) => body.includes('"row_count":1,') && !body.includes('"isError":true') && !body.includes('"error":{');

/** The two servers under test, as load targets: the gateway with the key, the bare server without. */
export function targetsFor(gateway, bare, apiKey) {
  return {
    gateway: { url: gateway.mcpUrl, pid: gateway.pid, headers: { ...BASE_HEADERS, authorization: `Bearer ${apiKey}` } },
    bare: { url: bare.url, pid: bare.pid, headers: BASE_HEADERS },
  };
}

/** One full check of a single call before any load: a clear error beats a table of failures. */
export async function assertAnswersCorrectly(name, target) {
  const response = await fetch(target.url, { method: 'POST', headers: target.headers, body: TOOL_CALL });
  const text = await response.text();
  const parsed = JSON.parse(text);
  if (response.status !== 200 || parsed.error || parsed.result?.structuredContent?.row_count !== 1) {
    throw new Error(`${name} did not answer tools/call correctly: HTTP ${response.status} ${text.slice(0, 500)}`);
  }
}

/** The calls a load sends: one fixed body, or `nextBody()` per request; `verifyBody` judges each answer. */
const ONE_ROW_CALL = { body: TOOL_CALL, verifyBody: isOneRowResult };

/** tools/call load on one target for `seconds`. */
export function loadTarget(target, { connections, seconds, clickhousePid, workload = ONE_ROW_CALL }) {
  return runLoad({ url: target.url, headers: target.headers, ...workload, connections, seconds, cpuPids: { server: target.pid, clickhouse: clickhousePid } });
}

const STEADY = { connections: 16, windowSeconds: 3, tolerance: 0.07, minWindows: 4, maxWindows: 8 };

/**
 * Loads a fresh server until its rate stops climbing: per-call CPU falls by more than half over
 * the first ~10 s of load while V8 optimizes (measured: bare 4.0 → 1.5 ms CPU per call), so a
 * short warm-up would measure the JIT, not the server. Steady: a 3 s window within 7% of the one
 * two windows before (the per-second rate itself wanders by ±5-10%).
 */
export async function warmUntilSteady(target, clickhousePid, workload = ONE_ROW_CALL) {
  const rates = [];
  let failures = 0;
  let answered = 0;
  while (rates.length < STEADY.maxWindows) {
    const run = await loadTarget(target, { connections: STEADY.connections, seconds: STEADY.windowSeconds, clickhousePid, workload });
    failures += failureCount(run);
    answered += run.ok;
    rates.push(run.requestsPerSecond);
    const [earlier, latest] = [rates.at(-3), rates.at(-1)];
    if (rates.length >= STEADY.minWindows && Math.abs(latest - earlier) <= STEADY.tolerance * latest) break;
  }
  return { seconds: rates.length * STEADY.windowSeconds, failures, answered, steady: rates.length < STEADY.maxWindows };
}

const COUNTED_EVENTS = ['SelectQuery', 'InsertQuery', 'InsertedRows'];

/** ClickHouse's server-wide counters of queries and inserted rows (system.events). */
async function clickhouseEvents(ctx) {
  const rows = await queryRows(ctx.clickhouse.client, `SELECT event, value FROM system.events WHERE event IN (${COUNTED_EVENTS.map((event) => `'${event}'`).join(', ')})`);
  return Object.fromEntries(COUNTED_EVENTS.map((event) => [event, Number(rows.find((row) => row.event === event)?.value ?? 0)]));
}

/**
 * One round at one concurrency: warm-up, then the measured run with ClickHouse's query counters
 * around it. Starts once ClickHouse has finished merging what the previous run inserted, so one
 * server's usage rows do not slow the next server's round.
 */
async function measureRound(target, connections, ctx, workload) {
  const load = (seconds) => loadTarget(target, { connections, seconds, clickhousePid: ctx.clickhouse.pid, workload });
  await waitForMerges(ctx.clickhouse.client, 20_000);
  const warmup = await load(ctx.options.warmupSeconds);
  const before = await clickhouseEvents(ctx);
  const measured = await load(ctx.options.durationSeconds);
  const after = await clickhouseEvents(ctx);
  const events = Object.fromEntries(COUNTED_EVENTS.map((event) => [event, after[event] - before[event]]));
  return { measured, events, warmupFailures: failureCount(warmup), warmupDetail: failureCount(warmup) > 0 ? failureDetail(warmup) : undefined, answered: warmup.ok + measured.ok };
}

/** A server's rounds at one concurrency as one result. */
function combineRounds(rounds) {
  const measured = combineRuns(rounds.map((round) => round.measured));
  const total = (pick) => rounds.reduce((sum, round) => sum + pick(round), 0);
  const perSecond = (event) => total((round) => round.events[event]) / measured.seconds;
  return {
    ...measured,
    clickhouse: { selects: perSecond('SelectQuery'), inserts: perSecond('InsertQuery'), insertedRows: perSecond('InsertedRows') },
    warmupFailures: total((round) => round.warmupFailures),
    warmupDetail: rounds.find((round) => round.warmupDetail)?.warmupDetail,
    answered: total((round) => round.answered),
  };
}

/** Rounds in ABBA order (gateway, bare, bare, gateway, ...) so drift over time favours neither server. */
async function measureLevel(targets, connections, ctx, workload = ONE_ROW_CALL) {
  const rounds = { gateway: [], bare: [] };
  for (let round = 0; round < ctx.options.rounds; round++) {
    const order = round % 2 === 0 ? ['gateway', 'bare'] : ['bare', 'gateway'];
    for (const name of order) rounds[name].push(await measureRound(targets[name], connections, ctx, workload));
  }
  // Each round's two runs are neighbours in time: their ratios show how far the machine's drift moves it.
  const roundRatios = rounds.gateway.map((round, index) => round.measured.ok / rounds.bare[index].measured.ok);
  return { connections, gateway: combineRounds(rounds.gateway), bare: combineRounds(rounds.bare), roundRatios };
}

export const usageRowsOf = (ctx, userId) => scalar(ctx.clickhouse.client, `SELECT count() FROM mcp_tool_usage_log WHERE user_id = '${userId}'`);

/** Usage recording was really on: every answered gateway call has its row (the writer may lag a little). */
export function waitForUsageRows(ctx, userId, expected, timeoutMs = 30_000) {
  return pollUntil(() => usageRowsOf(ctx, userId), (rows) => rows >= expected, { timeoutMs, intervalMs: 250 });
}

/** Both servers loaded until steady, then measured at each concurrency; with the gateway calls they answered. */
export async function measureLevels(targets, ctx, workload = ONE_ROW_CALL) {
  const warmups = { gateway: await warmUntilSteady(targets.gateway, ctx.clickhouse.pid, workload), bare: await warmUntilSteady(targets.bare, ctx.clickhouse.pid, workload) };
  const levels = [];
  let gatewayAnswered = warmups.gateway.answered;
  for (const connections of ctx.options.concurrency) {
    const level = await measureLevel(targets, connections, ctx, workload);
    gatewayAnswered += level.gateway.answered;
    levels.push(level);
  }
  return { warmups, levels, gatewayAnswered };
}

export async function measureMcpThroughput(ctx) {
  const targets = targetsFor(ctx.gateway, ctx.bare, ctx.users.load.apiKey);
  for (const [name, target] of Object.entries(targets)) await assertAnswersCorrectly(name, target);
  const measured = await measureLevels(targets, ctx);
  const usageRows = await waitForUsageRows(ctx, ctx.users.load.id, measured.gatewayAnswered);
  return { ...measured, usageRows };
}

const cores = (value) => (value === undefined ? '–' : formatNumber(value));

const clickhouseLoad = ({ selects, inserts, insertedRows }) =>
  `${formatInt(selects)} / ${formatInt(inserts)}${inserts >= 0.5 ? ` (${formatInt(insertedRows / inserts)} rows each)` : ''}`;

export function resultRow(connections, name, result) {
  const failed = failureCount(result) + result.warmupFailures;
  return [
    connections,
    name,
    `${formatInt(result.requestsPerSecond)} ±${formatPercent(result.rateSpread)}`,
    formatNumber(result.p50Ms),
    formatNumber(result.p99Ms),
    formatInt((result.cores.server / result.requestsPerSecond) * 1e6),
    `${cores(result.cores.server)} / ${cores(result.cores.clickhouse)} / ${cores(result.cores.self)} / ${cores(result.cores.other)}`,
    clickhouseLoad(result.clickhouse),
    failed === 0 ? '0' : `**${failed}**`,
  ];
}

export function ratioRow(connections, { gateway, bare, roundRatios }) {
  const ratio = gateway.requestsPerSecond / bare.requestsPerSecond;
  const verdict = ratio >= TARGET_RATIO ? 'meets' : '**misses**';
  const spread = roundRatios.length > 1 ? `; rounds ${formatPercent(Math.min(...roundRatios))}–${formatPercent(Math.max(...roundRatios))}` : '';
  return [
    connections,
    `gateway ÷ bare`,
    `**${formatPercent(ratio)}** (${verdict} ≥${formatPercent(TARGET_RATIO)}${spread})`,
    formatSigned(gateway.p50Ms - bare.p50Ms),
    formatSigned(gateway.p99Ms - bare.p99Ms),
    formatSigned((gateway.cores.server / gateway.requestsPerSecond - bare.cores.server / bare.requestsPerSecond) * 1e6),
    '',
    '',
    '',
  ];
}

/** A table of resultRow and ratioRow rows. */
export const resultTable = (rows) =>
  table(
    ['clients', 'server', 'calls/s', 'p50 ms', 'p99 ms', 'server CPU µs/call', 'CPU cores: server / ClickHouse / load gen / other', 'ClickHouse selects/s / inserts/s', 'failed'],
    rows,
    ['r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );

const warmupText = ({ seconds, steady }) => `${seconds} s${steady ? '' : ' (**not steady**)'}`;

/** Failed calls of a section's levels and warm-ups. */
export function failuresOf({ warmups, levels }) {
  const atLevels = levels.reduce((sum, { gateway, bare }) => sum + failureCount(gateway) + failureCount(bare) + gateway.warmupFailures + bare.warmupFailures, 0);
  return atLevels + warmups.gateway.failures + warmups.bare.failures;
}

export function renderMcpThroughput(data, ctx) {
  const { warmups, levels, gatewayAnswered, usageRows } = data;
  const rows = levels.flatMap((level) => [
    resultRow(level.connections, 'gateway', level.gateway),
    resultRow(level.connections, 'bare SDK', level.bare),
    ratioRow(level.connections, level),
  ]);
  const failures = failuresOf(data);
  const usageOk = usageRows >= gatewayAnswered;
  const disturbance = Math.max(...levels.flatMap(({ gateway, bare }) => [gateway.cores.other ?? 0, bare.cores.other ?? 0]));
  return [
    `\`tools/call\` of \`search_stocks {"query":"000001.SZ","limit":1}\` (one row from ClickHouse) as raw JSON-RPC POSTs over keep-alive connections. ` +
      'Gateway: the real app (`NODE_ENV=production`, `LOG_LEVEL=warn`) with its API key check and usage recording. ' +
      'Bare: `bench/bare-mcp-server.mjs`, the same SDK transport and tool code on plain node:http with neither. ' +
      `Each server was first loaded until its rate was steady (gateway ${warmupText(warmups.gateway)}, bare ${warmupText(warmups.bare)}); ` +
      `then per row ${ctx.options.rounds} rounds each of ${ctx.options.warmupSeconds} s warm-up and ${ctx.options.durationSeconds} s measured, ` +
      'in ABBA order (gateway, bare, bare, gateway). ' +
      'calls/s ± is the spread of the per-second rate; CPU is per process over the measured window (`other` = all other processes); ' +
      'ClickHouse query rates come from its `system.events` counters over the same window.',
    resultTable(rows),
    `Failed calls (non-2xx, socket errors, timeouts, wrong bodies; warm-ups included): ${failures === 0 ? 'none' : `**${failures} — these figures are invalid**`}. ` +
      `Usage recording: ${formatInt(usageRows)} rows in \`mcp_tool_usage_log\` for ${formatInt(gatewayAnswered)} answered gateway calls` +
      `${usageOk ? ' (every answered call recorded).' : ' — **rows missing**.'}`,
    ...levels.flatMap(({ connections, gateway, bare }) =>
      [
        ['gateway', gateway],
        ['bare SDK', bare],
      ]
        .filter(([, result]) => failureCount(result) + result.warmupFailures > 0)
        .map(([name, result]) => `Failures at ${connections} clients, ${name}: ${failureDetail(result)}${result.warmupDetail ? `; in its warm-ups: ${result.warmupDetail}` : ''}.`),
    ),
    disturbance > DISTURBED_CORES
      ? `**Disturbed:** other processes used up to ${formatNumber(disturbance)} cores during a measurement; rerun on an idle machine.`
      : '',
  ]
    .filter(Boolean)
    .join('\n\n');
}

export const mcpThroughput = {
  title: 'MCP tools/call throughput: gateway vs bare SDK server',
  measure: measureMcpThroughput,
  render: renderMcpThroughput,
};
