// Where the gateway's CPU goes per call, next to the bare server's (only with --profile).
import { mkdirSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { summarizeProfile } from '../lib/cpu-profile.mjs';
import { failureCount } from '../lib/load.mjs';
import { table } from '../lib/markdown.mjs';
import { formatInt, formatNumber, formatSigned } from '../lib/stats.mjs';
import { assertAnswersCorrectly, loadTarget, targetsFor, warmUntilSteady } from './mcp-throughput.mjs';

const TOP_OWNERS = 18;
const TOP_FUNCTIONS = 15;

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/** Warm-up until steady, then a measured run whose monotonic time window selects the profile samples. */
async function profileRun(name, target, ctx) {
  await assertAnswersCorrectly(name, target);
  await warmUntilSteady(target, ctx.clickhouse.pid);
  const fromUs = monotonicUs();
  const run = await loadTarget(target, { connections: ctx.options.profileClients, clickhousePid: ctx.clickhouse.pid, seconds: ctx.options.durationSeconds });
  if (failureCount(run) > 0) throw new Error(`${name}: ${failureCount(run)} failed calls while profiling`);
  return { run, window: { fromUs, toUs: monotonicUs() } };
}

const profileIn = (dir) => join(dir, readdirSync(dir).find((file) => file.endsWith('.cpuprofile')));

export async function measureGatewayProfile(ctx) {
  const dir = join(ctx.workDir, 'profiles', new Date().toISOString().replace(/[:.]/g, '-'));
  const cpuProf = (name) => {
    mkdirSync(join(dir, name), { recursive: true });
    return ['--cpu-prof', '--cpu-prof-interval=250', `--cpu-prof-dir=${join(dir, name)}`];
  };
  const gateway = await ctx.startGateway({ nodeArgs: cpuProf('gateway'), spoolDir: join(ctx.scratchDir, 'spool-profiled') });
  const bare = await ctx.startBare({ nodeArgs: cpuProf('bare') }).catch(async (error) => {
    await gateway.stop();
    throw error;
  });
  const targets = targetsFor(gateway, bare, ctx.users.load.apiKey);
  const runs = {};
  try {
    for (const name of ['gateway', 'bare']) runs[name] = await profileRun(name, targets[name], ctx);
  } finally {
    await Promise.all([gateway.stop(), bare.stop()]); // the profiles are written on exit
  }
  const appDirs = { app: ctx.distDir, bench: ctx.benchDir };
  const summaries = {};
  for (const name of ['gateway', 'bare']) {
    const { run, window } = runs[name];
    summaries[name] = { ...summarizeProfile(profileIn(join(dir, name)), { ...window, appDirs }), calls: run.ok, requestsPerSecond: run.requestsPerSecond };
  }
  return { dir: relative(ctx.root, dir), summaries, clients: ctx.options.profileClients };
}

const perCall = (us, summary) => us / summary.calls;

const BY_GATEWAY = 1;
const BY_DIFFERENCE = 3;

/** Rows of [key, gateway µs/call, bare µs/call, difference], largest first by column `sortBy`. */
function compare(gatewayEntries, bareEntries, summaries, { sortBy, limit }) {
  const gateway = new Map(gatewayEntries);
  const bare = new Map(bareEntries);
  const cost = (map, key, summary) => perCall(map.get(key) ?? 0, summary);
  return [...new Set([...gateway.keys(), ...bare.keys()])]
    .map((key) => [key, cost(gateway, key, summaries.gateway), cost(bare, key, summaries.bare)])
    .map(([key, g, b]) => [key, g, b, g - b])
    .sort((a, b) => b[sortBy] - a[sortBy])
    .slice(0, limit);
}

const costRow = ([key, g, b, difference]) => [key, formatNumber(g), formatNumber(b), formatSigned(difference)];

export function renderGatewayProfile({ dir, summaries, clients }) {
  const { gateway, bare } = summaries;
  const header = (what) => [what, 'gateway µs/call', 'bare µs/call', 'difference'];
  const total = ['**all busy CPU (main thread)**', perCall(gateway.busyUs, gateway), perCall(bare.busyUs, bare), perCall(gateway.busyUs, gateway) - perCall(bare.busyUs, bare)];
  return [
    `\`node --cpu-prof\` (a sample every 250 µs) on fresh instances of both servers at ${clients} client${clients === 1 ? '' : 's'}, warmed until steady; only samples inside the measured window count. ` +
      `Profiling slows both (gateway ${formatInt(gateway.requestsPerSecond)} calls/s, bare ${formatInt(bare.requestsPerSecond)} calls/s here). ` +
      'Self time per answered call. `app: <folder>` is src/, `node: <module>` is Node\'s own JavaScript, ' +
      `V8/native are builtins and syscalls. The profiles are in \`${dir}\` (Chrome DevTools or speedscope open them).`,
    'By owner, largest in the gateway first:',
    table(header('owner'), [...compare(gateway.owners, bare.owners, summaries, { sortBy: BY_GATEWAY, limit: TOP_OWNERS }), total].map(costRow)),
    'Functions the gateway spends most on beyond the bare server:',
    table(header('function (owner, file:line)'), compare(gateway.functions, bare.functions, summaries, { sortBy: BY_DIFFERENCE, limit: TOP_FUNCTIONS }).map(costRow)),
    'Functions both spend most on (the shared SDK path):',
    table(header('function (owner, file:line)'), compare(gateway.functions, bare.functions, summaries, { sortBy: BY_GATEWAY, limit: TOP_FUNCTIONS }).map(costRow)),
  ].join('\n\n');
}

export const gatewayProfile = {
  title: 'CPU profile: gateway vs bare (per call)',
  measure: measureGatewayProfile,
  render: renderGatewayProfile,
};
