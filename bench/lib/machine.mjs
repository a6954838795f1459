// The machine and versions a run measured, for the top of results.md.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { join } from 'node:path';

const PACKAGES = ['@modelcontextprotocol/sdk', '@nestjs/core', '@nestjs/platform-express', 'express', 'nestjs-pino', '@clickhouse/client', 'zod', 'autocannon'];

function packageVersion(root, name) {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

function git(root, args) {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** Commit of the working tree, marked when src/ has uncommitted changes (the bench builds src/ as it is). */
function sourceRevision(root) {
  const commit = git(root, ['rev-parse', '--short', 'HEAD']) || 'unknown';
  return git(root, ['status', '--porcelain', '--', 'src']) ? `${commit} + uncommitted src/ changes` : commit;
}

/** Taken when the bench starts, before it loads the machine itself: a busy machine disturbs every figure. */
const loadBefore = loadavg().map((load) => load.toFixed(2)).join(' / ');

export function describeMachine(root, clickhouse) {
  const cpuList = cpus();
  return [
    ['Date', new Date().toISOString().replace(/\.\d+Z$/, 'Z')],
    ['Source', sourceRevision(root)],
    ['CPU', `${cpuList[0]?.model ?? 'unknown'}, ${cpuList.length} cores`],
    ['RAM', `${(totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ['Load average before the run (1/5/15 min)', loadBefore],
    ['OS', `${type()} ${release()}`],
    ['Node.js', process.version],
    ['ClickHouse', `${clickhouse.version} (${clickhouse.external ? 'CLICKHOUSE_URL' : 'private server on this machine, started by the bench'})`],
    ...PACKAGES.map((name) => [name, packageVersion(root, name)]),
  ];
}
