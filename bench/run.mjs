// `npm run bench`: builds src/, starts a ClickHouse, the gateway and a bare MCP server, measures
// every section side by side in one run and writes bench/results.md. See bench/README.md.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  buildApp,
  dropDatabase,
  makeScratchDir,
  rawClickHouse,
  startBareServer,
  startClickHouse,
  startGateway,
} from './lib/environment.mjs';
import { queryRows } from './lib/clickhouse.mjs';
import { describeMachine } from './lib/machine.mjs';
import { section, table } from './lib/markdown.mjs';
import { createApiKey, registerAndLogin } from '../scripts/lib/rest-client.mjs';
import { formatNumber } from './lib/stats.mjs';
import { sectionsFor } from './sections/index.mjs';

const benchDir = import.meta.dirname;
const root = resolve(benchDir, '..');
const workDir = join(benchDir, '.work');
const startedAt = performance.now();

const log = (message) => console.error(`[bench ${formatNumber((performance.now() - startedAt) / 1000)} s] ${message}`);

function readOptions() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '2' },
      warmup: { type: 'string', default: '2' },
      concurrency: { type: 'string', default: '1,16,64' },
      rows: { type: 'string', default: '10000000' },
      requests: { type: 'string', default: '30' },
      profile: { type: 'boolean', default: false },
      'profile-clients': { type: 'string', default: '16' },
      only: { type: 'string' },
      out: { type: 'string' },
    },
  });
  return {
    durationSeconds: Number(values.duration),
    rounds: Number(values.rounds),
    warmupSeconds: Number(values.warmup),
    concurrency: values.concurrency.split(',').map(Number),
    rows: Number(values.rows),
    queryRequests: Number(values.requests),
    profile: values.profile,
    profileClients: Number(values['profile-clients']),
    only: values.only?.split(','),
    // A run of some sections only does not replace the full report.
    out: resolve(values.out ?? (values.only ? join(workDir, 'partial-results.md') : join(benchDir, 'results.md'))),
    argv: process.argv.slice(2).join(' '),
  };
}

/** Runs cleanup steps in reverse order of registration, each even if an earlier one failed. */
function cleanupStack() {
  const steps = [];
  return {
    push: (step) => steps.push(step),
    run: async () => {
      while (steps.length > 0) await steps.pop()().catch((error) => console.error('cleanup:', error.message));
    },
  };
}

/** Everything the sections share: servers, users, options. */
async function setUp(options, cleanup) {
  const distDir = join(workDir, 'dist');
  log('building src/ into bench/.work/dist');
  buildApp(root, distDir);
  const scratch = makeScratchDir();
  cleanup.push(async () => scratch.remove());
  const clickhouse = await startClickHouse(scratch.dir);
  cleanup.push(clickhouse.stop);
  const database = `bench_${randomBytes(6).toString('hex')}`;
  if (clickhouse.external) cleanup.push(() => dropDatabase(clickhouse.url, database));
  log(`ClickHouse at ${clickhouse.url}, database ${database}; starting the gateway and the bare server`);

  // The sections compare the gateway's own cost with the bare server's, so its result cache is off
  // unless a section turns it on (the market-cache sections do).
  const startGatewayWith = ({ nodeArgs, spoolDir, env }) =>
    startGateway({ distDir, clickhouseUrl: clickhouse.url, database, spoolDir, nodeArgs, env: { MARKET_CACHE_MAX_BYTES: '0', ...env } });
  const startBareWith = ({ nodeArgs } = {}) => startBareServer({ benchDir, distDir, clickhouseUrl: clickhouse.url, database, nodeArgs });
  const gateway = await startGatewayWith({ spoolDir: join(scratch.dir, 'spool') });
  cleanup.push(gateway.stop);
  const bare = await startBareWith();
  cleanup.push(bare.stop);
  const client = rawClickHouse(clickhouse.url, database);
  cleanup.push(() => client.close());

  const load = await registerAndLogin(gateway.restUrl, `bench-load-${database}@example.com`);
  const key = await createApiKey(gateway.restUrl, load.jwt);
  const history = await registerAndLogin(gateway.restUrl, `bench-history-${database}@example.com`);
  const [{ version }] = await queryRows(client, 'SELECT version() AS version');
  return {
    root,
    benchDir,
    workDir,
    distDir,
    scratchDir: scratch.dir,
    options,
    clickhouse: { url: clickhouse.url, pid: clickhouse.pid, external: clickhouse.external, database, client, version },
    gateway,
    bare,
    users: { load: { ...load, ...key }, history },
    startGateway: startGatewayWith,
    startBare: startBareWith,
  };
}

const titleOf = (current, ctx) => (typeof current.title === 'function' ? current.title(ctx) : current.title);

async function measureSections(ctx) {
  const outcomes = [];
  for (const current of sectionsFor(ctx.options)) {
    log(`measuring: ${titleOf(current, ctx)}`);
    try {
      outcomes.push({ section: current, data: await current.measure(ctx) });
    } catch (error) {
      console.error(error);
      outcomes.push({ section: current, error });
    }
  }
  return outcomes;
}

function renderReport(ctx, outcomes) {
  const machine = describeMachine(ctx.root, { version: ctx.clickhouse.version, external: ctx.clickhouse.external });
  const body = outcomes.map(({ section: current, data, error }) =>
    section(titleOf(current, ctx), error ? `**FAILED:** ${error.message.split('\n')[0]}` : current.render(data, ctx)),
  );
  const settings = `\`npm run bench${ctx.options.argv ? ` -- ${ctx.options.argv}` : ''}\`, ${formatNumber((performance.now() - startedAt) / 1000)} s in all.`;
  return [
    '# Benchmark results',
    'Written by `npm run bench` (bench/run.mjs). What each figure means and what limits it: [README.md](README.md).',
    section('Machine and versions', table(['', ''], machine, ['l', 'l'])),
    ...body,
    section('Run', settings),
  ].join('\n\n') + '\n';
}

async function main() {
  const options = readOptions();
  const cleanup = cleanupStack();
  const interrupt = () => {
    log('interrupted: cleaning up');
    void cleanup.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const ctx = await setUp(options, cleanup);
    const outcomes = await measureSections(ctx);
    const report = renderReport(ctx, outcomes);
    writeFileSync(options.out, report);
    console.log(report);
    log(`wrote ${relative(process.cwd(), options.out)}`);
    if (outcomes.some((outcome) => outcome.error)) process.exitCode = 1;
  } finally {
    await cleanup.run();
  }
}

await main();
