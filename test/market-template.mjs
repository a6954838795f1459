// The demo market, seeded once per e2e run into a template database (see test/support/demo-market.ts).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAppProcess } from '../scripts/lib/app-process.mjs';

/** Variable the workers inherit: the template's database on CLICKHOUSE_URL. */
export const MARKET_TEMPLATE_VARIABLE = 'E2E_MARKET_TEMPLATE';

async function query(url, statement) {
  const response = await fetch(`${url}/?query=${encodeURIComponent(statement)}`, { method: 'POST' });
  const text = await response.text();
  if (!response.ok) throw new Error(`ClickHouse refused ${statement}: ${text}`);
  return text;
}

/** Runs the built gateway on `database` until it listens (tables adopted, demo data seeded when asked), then stops it. */
async function runGateway(url, database, demoData) {
  const spoolDir = mkdtempSync(join(tmpdir(), 'stock-mcp-template-spool-'));
  try {
    const app = await startAppProcess({
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      CLICKHOUSE_URL: url,
      CLICKHOUSE_DATABASE: database,
      HTTP_PORT: '0',
      MCP_PORT: '0',
      BIND_HOST: '127.0.0.1',
      JWT_SECRET: randomBytes(32).toString('hex'),
      USAGE_SPOOL_DIR: spoolDir,
      DEMO_DATA: demoData,
    });
    await app.signal('SIGTERM');
  } finally {
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

/**
 * Seeds the template as a gateway seeds a new database, with its market tables' merges stopped
 * first, so that every copy holds each re-ingested day's two versions, as a fresh seed does.
 */
export async function seedMarketTemplate(url) {
  const database = `market_template_${randomBytes(6).toString('hex')}`;
  await runGateway(url, database, 'false');
  const tables = (await query(url, `SELECT name FROM system.tables WHERE database = '${database}' AND substring(name, 1, 4) = 'ods_' FORMAT TSV`)).trim().split('\n');
  for (const table of tables) await query(url, `SYSTEM STOP MERGES \`${database}\`.\`${table}\``);
  await runGateway(url, database, 'true');
  process.env[MARKET_TEMPLATE_VARIABLE] = database;
}

/** Drops the template from a ClickHouse that outlives the run (one the user gave in CLICKHOUSE_URL). */
export async function dropMarketTemplate(url) {
  const database = process.env[MARKET_TEMPLATE_VARIABLE];
  if (!database || !url) return;
  delete process.env[MARKET_TEMPLATE_VARIABLE];
  await query(url, `DROP DATABASE IF EXISTS \`${database}\``);
}
