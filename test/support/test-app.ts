import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { startAppProcess } from '../../scripts/lib/app-process.mjs';
import { pollUntil } from '../../scripts/lib/poll.mjs';
import { clickHouseUrl, dropDatabase, uniqueDatabaseName } from './clickhouse.js';
import { copyDemoMarket } from './demo-market.js';

export interface TestApp {
  database: string;
  clickhouseUrl: string;
  /** The app's usage spool directory (USAGE_SPOOL_DIR). */
  spoolDir: string;
  restUrl: string;
  mcpUrl: string;
  rest: TestAgent;
  mcp: TestAgent;
  process: ChildProcess;
  /** Everything the process printed so far (structured log lines). */
  output(): string;
  /** Waits until a printed line matches (logs reach the pipe asynchronously). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string[]>;
  /** Sends a signal and resolves with the exit code (or the signal name). */
  signal(signal: NodeJS.Signals): Promise<number | string>;
  /** Stops the app with SIGTERM, drops its database unless told to keep it, and removes a spool it made. */
  stop(): Promise<void>;
}

interface StartOptions {
  keepDatabase?: boolean;
  timeoutMs?: number;
  /** Another entry point than dist/main.js (see clock-app.mjs), with an IPC channel when `ipc`. */
  main?: string;
  ipc?: boolean;
  /** env.CLICKHOUSE_URL leads to the shared test ClickHouse (a relay to it), so DEMO_DATA may be copied there. */
  viaSharedClickHouse?: boolean;
}

/** Starts the built app (dist/main.js) as a real process on free ports with a database of its own. */
export async function startTestApp(env: Record<string, string> = {}, options: StartOptions = {}): Promise<TestApp> {
  const database = env.CLICKHOUSE_DATABASE ?? uniqueDatabaseName();
  const clickhouseUrl = env.CLICKHOUSE_URL ?? clickHouseUrl();
  // Of a list of replicas, the last: the tests that list several put a live one last.
  const liveClickhouseUrl = clickhouseUrl.split(',').at(-1) ?? clickhouseUrl;
  const spoolDir = env.USAGE_SPOOL_DIR ?? mkdtempSync(join(tmpdir(), 'stock-mcp-spool-'));
  // An injected clock's demo data ends on its own day; a private server has no template.
  if (env.DEMO_DATA === 'true' && !env.TEST_CLOCK_START && (env.CLICKHOUSE_URL === undefined || options.viaSharedClickHouse)) await copyDemoMarket(database);
  const app = await startAppProcess(
    {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      CLICKHOUSE_DATABASE: database,
      HTTP_PORT: '0',
      MCP_PORT: '0',
      BIND_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      // The suites read the usage queue's counters from /health.
      HEALTH_DETAILS: 'true',
      // Seeding costs seconds per start; suites that read market data turn it on (and get the run's copy, see demo-market.ts).
      DEMO_DATA: 'false',
      // The original service's name for the secret may stand in for it.
      ...(env.JWT_SECRET_KEY ? {} : { JWT_SECRET: randomBytes(32).toString('hex') }),
      ...env,
      CLICKHOUSE_URL: clickhouseUrl,
      USAGE_SPOOL_DIR: spoolDir,
    },
    options,
  );
  return {
    database,
    clickhouseUrl: liveClickhouseUrl,
    spoolDir,
    restUrl: app.restUrl,
    mcpUrl: app.mcpUrl,
    rest: request(app.restUrl),
    mcp: request(app.mcpUrl),
    process: app.child,
    output: app.output,
    waitForOutput: (pattern, timeoutMs = 5_000) =>
      pollUntil(() => app.output().split('\n').filter((line) => pattern.test(line)), (lines) => lines.length > 0, { timeoutMs, intervalMs: 25 }),
    signal: app.signal,
    stop: async () => {
      await app.signal('SIGTERM');
      if (!options.keepDatabase) await dropDatabase(database, liveClickhouseUrl);
      if (!env.USAGE_SPOOL_DIR) rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}

export interface LoggedInUser {
  id: string;
  email: string;
  password: string;
  jwt: string;
}

let userCounter = 0;

/** Registers a fresh user through the REST API and logs in, as a person would. */
export async function registerAndLogin(app: TestApp, email = `user${++userCounter}-${Date.now()}@example.com`): Promise<LoggedInUser> {
  const password = 'correct horse battery';
  const registered = await app.rest.post('/api/auth/register').send({ email, password }).expect(201);
  const login = await app.rest.post('/api/auth/login').send({ email, password }).expect(200);
  return { id: registered.body.user.id, email, password, jwt: login.body.access_token };
}
