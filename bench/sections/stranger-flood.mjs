// Valid tools/call traffic while strangers flood the MCP port with random API keys.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { failureCount } from '../lib/load.mjs';
import { table } from '../lib/markdown.mjs';
import { formatInt, formatNumber, formatPercent } from '../lib/stats.mjs';
import { assertAnswersCorrectly, loadTarget, targetsFor, warmUntilSteady } from './mcp-throughput.mjs';
import { createApiKey, registerAndLogin } from '../../scripts/lib/rest-client.mjs';

const VALID_CONNECTIONS = 16;
const IN_FLIGHT = 10_000;
const FLOOD_SOCKETS = 256;
const SECONDS = 8;
export const TARGET_FLOOD_RATIO = 0.8;

/** Runs the flood worker for `seconds` and resolves with what it saw. */
function flood(url, seconds) {
  return new Promise((resolve, reject) => {
    const child = fork(join(import.meta.dirname, '../lib/flood-worker.mjs'), [url, String(seconds), String(IN_FLIGHT), String(FLOOD_SOCKETS)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(output)) : reject(new Error(`flood worker exited with ${code}`))));
  });
}

/** The valid rate alone, then with the flood running beside it, on one gateway. */
async function measureOn(name, gateway, ctx) {
  const login = await registerAndLogin(gateway.restUrl, `bench-flood-${name}-${Date.now()}@example.com`);
  const key = await createApiKey(gateway.restUrl, login.jwt);
  const target = targetsFor(gateway, ctx.bare, key.apiKey).gateway;
  await assertAnswersCorrectly('gateway', target);
  await warmUntilSteady(target, ctx.clickhouse.pid);
  const options = { connections: VALID_CONNECTIONS, seconds: SECONDS, clickhousePid: ctx.clickhouse.pid };
  const alone = await loadTarget(target, options);
  const [beside, strangers] = await Promise.all([loadTarget(target, options), flood(gateway.mcpUrl, SECONDS)]);
  return { name, alone, beside, strangers };
}

export async function measureStrangerFlood(ctx) {
  const throttled = await measureOn('throttled', ctx.gateway, ctx);
  // Every stranger under the per-address limit, as a botnet spread over many addresses would be:
  // each random key then costs a ClickHouse lookup in the hash index.
  const unthrottledGateway = await ctx.startGateway({ spoolDir: join(ctx.scratchDir, 'spool-unthrottled'), env: { MCP_AUTH_FAILURE_LIMIT: '1000000' } });
  try {
    const unthrottled = await measureOn('unthrottled', unthrottledGateway, ctx);
    return { runs: [throttled, unthrottled] };
  } finally {
    await unthrottledGateway.stop();
  }
}

export function renderStrangerFlood(data) {
  const statuses = (strangers) => Object.entries(strangers.statuses).map(([status, count]) => `${status}: ${formatInt(count)}`).join(', ');
  return [
    `${VALID_CONNECTIONS} clients call tools/call (search_stocks, one row) with a valid key for ${SECONDS} s, first alone, then while a separate process keeps ` +
      `${formatInt(IN_FLIGHT)} tools/list requests in flight, each with a new random well-formed \`sk-\` key, over ${FLOOD_SOCKETS} sockets. ` +
      '"Throttled" is the gateway as configured (MCP_AUTH_FAILURE_LIMIT=30 a minute per address: after 30 failures the address gets 429 before any lookup); ' +
      '"unthrottled" raises the limit so every random key is looked up in ClickHouse, as with strangers spread over many addresses. ' +
      `Target: the valid rate under the flood stays at or above ${formatPercent(TARGET_FLOOD_RATIO)} of the rate alone.`,
    table(
      ['gateway', 'valid calls/s alone', 'valid calls/s under flood', 'ratio', 'valid p99 ms under flood', 'valid failures', 'stranger requests answered/s', 'stranger answers'],
      data.runs.map((run) => [
        run.name,
        formatNumber(run.alone.requestsPerSecond),
        formatNumber(run.beside.requestsPerSecond),
        formatPercent(run.beside.requestsPerSecond / run.alone.requestsPerSecond),
        formatNumber(run.beside.p99Ms),
        formatInt(failureCount(run.beside)),
        formatNumber(run.strangers.sent / run.strangers.seconds),
        statuses(run.strangers),
      ]),
    ),
  ].join('\n\n');
}

export const strangerFlood = {
  title: 'Valid traffic under a flood of random API keys',
  measure: measureStrangerFlood,
  render: renderStrangerFlood,
};
