// What the bench runs against: its own build of src/, a ClickHouse, the gateway and the bare server.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { freePort, startLocalClickHouse } from '../../scripts/lib/local-clickhouse.mjs';
import { startNodeProcess } from './processes.mjs';

/**
 * Compiles src/ into `outDir` (not dist/): other work rebuilding dist/ mid-run cannot swap the
 * code under a running benchmark, and the figures always describe the current src/.
 */
export function buildApp(root, outDir) {
  rmSync(outDir, { recursive: true, force: true });
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], {
    cwd: root,
    stdio: 'inherit',
  });
  execFileSync(process.execPath, [join(root, 'scripts/build-console.mjs'), outDir], { cwd: root, stdio: 'inherit' });
}

/** A per-run scratch directory (ClickHouse data, usage spool), removed by the returned function. */
export function makeScratchDir() {
  const dir = mkdtempSync(join(tmpdir(), 'stock-mcp-bench-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const credentials = () => ({ username: process.env.CLICKHOUSE_USER ?? 'default', password: process.env.CLICKHOUSE_PASSWORD ?? '' });

/**
 * CLICKHOUSE_URL when set (the bench then uses a database of its own and drops it), else a
 * private clickhouse-server with its data under `scratchDir`. Returns { url, pid, external, stop }.
 */
export async function startClickHouse(scratchDir) {
  if (process.env.CLICKHOUSE_URL) return { url: process.env.CLICKHOUSE_URL, pid: undefined, external: true, stop: async () => {} };
  const server = await startLocalClickHouse({ dir: join(scratchDir, 'clickhouse') });
  return { url: server.url, pid: server.pid, external: false, stop: () => server.stop() };
}

/** A raw client for the bench's own data generation and checks (long timeout for INSERT ... SELECT). */
export function rawClickHouse(url, database) {
  return createClient({ url, ...credentials(), ...(database ? { database } : {}), request_timeout: 600_000 });
}

export async function dropDatabase(url, database) {
  const client = rawClickHouse(url);
  try {
    await client.command({ query: `DROP DATABASE IF EXISTS \`${database}\`` });
  } finally {
    await client.close();
  }
}

const clickHouseEnv = (clickhouseUrl, database) => ({
  CLICKHOUSE_URL: clickhouseUrl,
  CLICKHOUSE_DATABASE: database,
  CLICKHOUSE_USER: credentials().username,
  CLICKHOUSE_PASSWORD: credentials().password,
});

/**
 * The real app (`node <distDir>/main.js`) as in production: NODE_ENV=production, request logging
 * below warn off the hot path, its own usage spool directory; `env` adds settings. Returns
 * { restUrl, mcpUrl, pid, stop }.
 */
export async function startGateway({ distDir, clickhouseUrl, database, spoolDir, nodeArgs = [], env = {} }) {
  const [httpPort, mcpPort] = [await freePort(), await freePort()];
  mkdirSync(spoolDir, { recursive: true });
  const restUrl = `http://127.0.0.1:${httpPort}`;
  const mcpUrl = `http://127.0.0.1:${mcpPort}`;
  const child = await startNodeProcess({
    script: join(distDir, 'main.js'),
    nodeArgs,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      ...clickHouseEnv(clickhouseUrl, database),
      HTTP_PORT: String(httpPort),
      MCP_PORT: String(mcpPort),
      BIND_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      JWT_SECRET: randomBytes(32).toString('hex'),
      USAGE_SPOOL_DIR: spoolDir,
      // Production leaves demo data off; the bench's tools/call reads it.
      DEMO_DATA: 'true',
      ...env,
    },
    // /health answers once migrations and demo data are done; the MCP listener opens right after.
    readyUrls: [`${restUrl}/health`, `${mcpUrl}/messages`],
  });
  return { ...child, restUrl, mcpUrl: `${mcpUrl}/messages` };
}

/** bench/bare-mcp-server.mjs on a free port, reading the same database. Returns { url, pid, stop }. */
export async function startBareServer({ benchDir, distDir, clickhouseUrl, database, nodeArgs = [] }) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/messages`;
  const child = await startNodeProcess({
    script: join(benchDir, 'bare-mcp-server.mjs'),
    nodeArgs,
    env: { PATH: process.env.PATH, BENCH_DIST: distDir, PORT: String(port), ...clickHouseEnv(clickhouseUrl, database) },
    readyUrls: [url],
  });
  return { ...child, url };
}
