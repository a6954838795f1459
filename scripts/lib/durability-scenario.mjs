// One round of the zero-loss check: concurrent SDK clients call a tool, ClickHouse stops part way,
// the gateway is killed with SIGKILL, both come back, and every acknowledged call must be in
// mcp_tool_usage_log exactly once. Used by scripts/durability.mjs and test/durability.e2e-spec.ts.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { sql, str } from '../../dist/clickhouse/sql.js';
import { startAppProcess } from './app-process.mjs';
import { createApiKey, registerAndLogin } from './rest-client.mjs';
import { startLocalClickHouse } from './local-clickhouse.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function createKey(restUrl) {
  const user = await registerAndLogin(restUrl, `durability-${randomUUID()}@example.com`);
  return createApiKey(restUrl, user.jwt, 'durability');
}

async function connect(mcpUrl, apiKey) {
  const client = new Client({ name: 'durability-check', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${mcpUrl}/messages`), {
    requestInit: { headers: { Authorization: `Bearer ${apiKey}` } },
  });
  await client.connect(transport);
  return client;
}

/**
 * A client calling search_stocks in a loop with a unique query per call, so each usage row can be
 * matched to its call. A call counts as acknowledged when the client received its result (a data
 * error while ClickHouse is down is a result too); refused or cut-off calls do not count.
 */
async function runWorker(client, tag, shouldStop, acknowledged) {
  let failures = 0;
  for (let n = 0; !shouldStop(); n++) {
    const query = `${tag}-${n}`;
    try {
      await client.callTool({ name: 'search_stocks', arguments: { query } });
      acknowledged.add(query);
    } catch {
      failures++;
      await sleep(20);
    }
  }
  return failures;
}

async function waitForEmptySpool(restUrl, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${restUrl}/health`).catch(() => undefined);
    const writer = response ? (await response.json()).details?.usage_writer : undefined;
    if (writer?.queue_depth === 0) return;
    if (Date.now() > deadline) throw new Error(`the spool did not drain within ${timeoutMs} ms: ${JSON.stringify(writer)}`);
    await sleep(200);
  }
}

async function recordedQueries(clickhouseUrl, database, keyId) {
  const client = createClient({ url: clickhouseUrl, database });
  try {
    const { text } = sql`SELECT arguments, count() AS n FROM mcp_tool_usage_log WHERE api_key_id = ${str(keyId)} GROUP BY arguments`;
    const result = await client.query({ query: text, format: 'JSONEachRow' });
    const rows = await result.json();
    return new Map(rows.map((row) => [JSON.parse(row.arguments).query, Number(row.n)]));
  } finally {
    await client.close();
  }
}

/** Compares what clients were told with what the table holds. */
export function compare(acknowledged, recorded) {
  const missing = [...acknowledged].filter((query) => !recorded.has(query));
  const duplicated = [...recorded].filter(([, n]) => n > 1).map(([query]) => query);
  const unacknowledged = [...recorded.keys()].filter((query) => !acknowledged.has(query));
  return { acknowledged: acknowledged.size, recorded: recorded.size, missing, duplicated, unacknowledged };
}

/**
 * Runs one round against a private ClickHouse it starts (and stops) in its own directory.
 * Options: clients (concurrent SDK clients), clickhouseDownAfterMs, killAfterMs, log.
 */
export async function runDurabilityRound({ clients = 16, clickhouseDownAfterMs = 1500, killAfterMs = 3000, log = () => {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'stock-mcp-durability-'));
  let clickhouse = await startLocalClickHouse({ dir: join(dir, 'clickhouse') });
  const env = {
    PATH: process.env.PATH,
    NODE_ENV: 'test',
    HTTP_PORT: '0',
    MCP_PORT: '0',
    BIND_HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    CLICKHOUSE_URL: clickhouse.url,
    CLICKHOUSE_DATABASE: 'durability',
    CLICKHOUSE_REQUEST_TIMEOUT_MS: '1000',
    HEALTH_DETAILS: 'true',
    JWT_SECRET: randomBytes(32).toString('hex'),
    MCP_KEY_CACHE_TTL_SECONDS: '600',
    USAGE_SPOOL_DIR: join(dir, 'spool'),
    USAGE_FLUSH_INTERVAL_MS: '200',
    USAGE_RETRY_MAX_DELAY_MS: '500',
  };
  let app;
  try {
    app = await startAppProcess(env);
    const key = await createKey(app.restUrl);
    const sdkClients = await Promise.all(Array.from({ length: clients }, () => connect(app.mcpUrl, key.apiKey)));
    // One call while ClickHouse is up puts the key in the verifier's cache for the outage.
    await sdkClients[0].callTool({ name: 'search_stocks', arguments: { query: 'warm-up' } });

    const acknowledged = new Set(['warm-up']);
    let stopping = false;
    const workers = sdkClients.map((client, i) => runWorker(client, `c${i}`, () => stopping, acknowledged));
    await sleep(clickhouseDownAfterMs);
    await clickhouse.stop('SIGKILL');
    log(`ClickHouse killed after ${clickhouseDownAfterMs} ms (${acknowledged.size} calls acknowledged so far)`);
    await sleep(killAfterMs - clickhouseDownAfterMs);
    await app.signal('SIGKILL');
    log(`gateway killed with SIGKILL after ${killAfterMs} ms (${acknowledged.size} calls acknowledged)`);
    stopping = true;
    const failedCalls = (await Promise.all(workers)).reduce((sum, failures) => sum + failures, 0);
    await Promise.all(sdkClients.map((client) => client.close().catch(() => undefined)));

    clickhouse = await startLocalClickHouse({ dir: join(dir, 'clickhouse'), httpPort: clickhouse.httpPort, tcpPort: clickhouse.tcpPort });
    app = await startAppProcess(env);
    await waitForEmptySpool(app.restUrl, 60_000);
    const outcome = compare(acknowledged, await recordedQueries(clickhouse.url, env.CLICKHOUSE_DATABASE, key.keyId));
    return { ...outcome, failedCalls };
  } finally {
    await app?.signal('SIGTERM');
    await clickhouse.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
