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
/** The gateway's default HTTP_MAX_CONNECTIONS_PER_ADDRESS, and twice that. */
const PER_ADDRESS_CAP = 128;
const SECONDS = 8;
export const TARGET_FLOOD_RATIO = 0.8;

/** Runs the flood worker for `seconds` and resolves with what it saw. */
function flood(url, seconds, sockets) {
  return new Promise((resolve, reject) => {
    const child = fork(join(import.meta.dirname, '../lib/flood-worker.mjs'), [url, String(seconds), String(IN_FLIGHT), String(sockets)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(output)) : reject(new Error(`flood worker exited with ${code}`))));
  });
}

/** The valid rate alone, then with the flood running beside it, on one gateway. */
async function measureOn(name, gateway, sockets, ctx) {
  const login = await registerAndLogin(gateway.restUrl, `bench-flood-${sockets}-${Date.now()}@example.com`);
  const key = await createApiKey(gateway.restUrl, login.jwt);
  const target = targetsFor(gateway, ctx.bare, key.apiKey).gateway;
  await assertAnswersCorrectly('gateway', target);
  await warmUntilSteady(target, ctx.clickhouse.pid);
  const options = { connections: VALID_CONNECTIONS, seconds: SECONDS, clickhousePid: ctx.clickhouse.pid };
  const alone = await loadTarget(target, options);
  const [beside, strangers] = await Promise.all([loadTarget(target, options), flood(gateway.mcpUrl, SECONDS, sockets)]);
  return { name, sockets, alone, beside, strangers };
}

export async function measureStrangerFlood(ctx) {
  const throttled = await measureOn('throttled', ctx.gateway, PER_ADDRESS_CAP, ctx);
  // Half the flood's connections over the per-address cap: closed on arrival, reopened at once.
  const overCap = await measureOn('throttled, over the connection cap', ctx.gateway, 2 * PER_ADDRESS_CAP, ctx);
  // Every stranger under the per-address limits, as a botnet spread over many addresses would be:
  // each random key then costs a ClickHouse lookup in the hash index.
  const env = { MCP_AUTH_FAILURE_LIMIT: '1000000', HTTP_MAX_CONNECTIONS_PER_ADDRESS: '1000000' };
  const unthrottledGateway = await ctx.startGateway({ spoolDir: join(ctx.scratchDir, 'spool-unthrottled'), env });
  try {
    const unthrottled = await measureOn('unthrottled (botnet)', unthrottledGateway, 2 * PER_ADDRESS_CAP, ctx);
    return { runs: [throttled, overCap, unthrottled] };
  } finally {
    await unthrottledGateway.stop();
  }
}

/** Requests the gateway answered with an HTTP status (dropped connections not counted). */
const answered = (strangers) => Object.entries(strangers.statuses).reduce((sum, [status, count]) => (status === 'error' ? sum : sum + count), 0);

export function renderStrangerFlood(data) {
  const statuses = (strangers) => Object.entries(strangers.statuses).map(([status, count]) => `${status}: ${formatInt(count)}`).join(', ');
  return [
    `${VALID_CONNECTIONS} clients call tools/call (search_stocks, one row) with a valid key for ${SECONDS} s, first alone, then while a separate process keeps ` +
      `${formatInt(IN_FLIGHT)} tools/list requests in flight from another address, each with a new random well-formed \`sk-\` key, over the sockets shown. ` +
      '"Throttled" is the gateway as configured: after MCP_AUTH_FAILURE_LIMIT=30 failures in a minute the address\'s requests are judged from their headers and ' +
      `answered 429 only after MCP_THROTTLED_HOLD_MS=10 s, so its sockets wait. With ${2 * PER_ADDRESS_CAP} sockets, the ${PER_ADDRESS_CAP} beyond ` +
      'HTTP_MAX_CONNECTIONS_PER_ADDRESS are closed on arrival and the flooder reopens them at once (a connection flood; see bench/README.md). ' +
      '"Unthrottled (botnet)" lifts both per-address limits, as strangers spread over many addresses would: every random key is then looked up in ClickHouse, ' +
      'MCP_KEY_LOOKUP_CONCURRENCY at a time, the overflow answered 503. The flooder runs on the same 2 cores, so its own CPU counts against the valid traffic. ' +
      `Target (the throttled row): the valid rate under the flood stays at or above ${formatPercent(TARGET_FLOOD_RATIO)} of the rate alone.`,
    table(
      ['gateway', 'flood sockets', 'valid calls/s alone', 'valid calls/s under flood', 'ratio', 'valid p99 ms under flood', 'valid failures', 'stranger answers/s', 'stranger answers (error: connection closed)'],
      data.runs.map((run) => [
        run.name,
        formatInt(run.sockets),
        formatNumber(run.alone.requestsPerSecond),
        formatNumber(run.beside.requestsPerSecond),
        formatPercent(run.beside.requestsPerSecond / run.alone.requestsPerSecond),
        formatNumber(run.beside.p99Ms),
        formatInt(failureCount(run.beside)),
        formatNumber(answered(run.strangers) / run.strangers.seconds),
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
