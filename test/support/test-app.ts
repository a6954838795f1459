import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { clickHouseUrl, dropDatabase, uniqueDatabaseName } from './clickhouse.js';

const MAIN = resolve(import.meta.dirname, '../../dist/main.js');

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
}

function waitForListening(child: ChildProcess, output: () => string, timeoutMs: number): Promise<{ rest: string; mcp: string }> {
  return new Promise((resolveUrls, reject) => {
    const timer = setTimeout(() => fail(new Error(`app did not start within ${timeoutMs} ms`)), timeoutMs);
    const onData = () => {
      for (const line of output().split('\n')) {
        if (!line.includes('"msg":"listening"')) continue;
        const parsed = JSON.parse(line) as { rest: string; mcp: string };
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolveUrls({ rest: parsed.rest, mcp: parsed.mcp.replace(/\/messages$/, '') });
        return;
      }
    };
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}\n--- app output ---\n${output()}`));
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => fail(new Error(`app exited with code ${code} before listening`)));
  });
}

/** Starts the built app (dist/main.js) as a real process on free ports with a database of its own. */
export async function startTestApp(env: Record<string, string> = {}, options: StartOptions = {}): Promise<TestApp> {
  const database = env.CLICKHOUSE_DATABASE ?? uniqueDatabaseName();
  const clickhouseUrl = env.CLICKHOUSE_URL ?? clickHouseUrl();
  const spoolDir = env.USAGE_SPOOL_DIR ?? mkdtempSync(join(tmpdir(), 'stock-mcp-spool-'));
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      CLICKHOUSE_DATABASE: database,
      HTTP_PORT: '0',
      MCP_PORT: '0',
      BIND_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      JWT_SECRET: randomBytes(32).toString('hex'),
      ...env,
      CLICKHOUSE_URL: clickhouseUrl,
      USAGE_SPOOL_DIR: spoolDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let printed = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (printed += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (printed += chunk));
  const output = () => printed;
  const exited = new Promise<number | string>((resolveExit) => child.once('exit', (code, signal) => resolveExit(code ?? signal ?? -1)));

  const urls = await waitForListening(child, output, options.timeoutMs ?? 30_000);
  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    return exited;
  };
  return {
    database,
    clickhouseUrl,
    spoolDir,
    restUrl: urls.rest,
    mcpUrl: urls.mcp,
    rest: request(urls.rest),
    mcp: request(urls.mcp),
    process: child,
    output,
    waitForOutput: async (pattern, timeoutMs = 5_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const lines = printed.split('\n').filter((line) => pattern.test(line));
        if (lines.length > 0 || Date.now() > deadline) return lines;
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    signal,
    stop: async () => {
      await signal('SIGTERM');
      if (!options.keepDatabase) await dropDatabase(database, clickhouseUrl);
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
