// The service launcher behind scripts/serve.sh: a local ClickHouse when CLICKHOUSE_URL is unset
// (data kept under .data/), the built app in the foreground, a demo login and client config.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startLocalClickHouse } from './lib/local-clickhouse.mjs';
import { api } from './lib/rest-client.mjs';

const root = resolve(import.meta.dirname, '..');
const dataDir = resolve(root, '.data');
const env = { ...process.env };
const demo = { email: env.DEMO_EMAIL ?? 'demo@example.com', password: env.DEMO_PASSWORD ?? 'demo-password' };

function persistentSecret() {
  const file = resolve(dataDir, 'jwt-secret');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

async function seedDemoLogin(rest) {
  const registered = await api(rest, '/api/auth/register', { method: 'POST', body: demo });
  if (registered.status !== 201 && registered.status !== 409) throw new Error(`demo registration failed: ${JSON.stringify(registered.body)}`);
  const login = await api(rest, '/api/auth/login', { method: 'POST', body: demo });
  if (login.status !== 200) {
    console.warn(`Demo user ${demo.email} exists with another password; log in with yours.`);
    return undefined;
  }
  return login.body.access_token;
}

/** Polls /health on the configured port (whatever LOG_LEVEL says, the port answers once it listens). */
async function waitForListening(child) {
  const rest = `http://127.0.0.1:${env.HTTP_PORT ?? 8000}`;
  const mcp = `http://127.0.0.1:${env.MCP_PORT ?? 8001}/messages`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the app exited with code ${child.exitCode}`);
    const answered = await fetch(`${rest}/health`).then(() => true, () => false);
    if (answered) return { rest, mcp };
    await new Promise((r) => setTimeout(r, 200));
  }
}

function printBanner({ rest, mcp }, token) {
  const host = (url) => url.replace('127.0.0.1', 'localhost');
  console.log(`
==============================================================================
 Stock data MCP gateway is running
   Web console:         ${host(rest)}/console/
   REST API + Swagger:  ${host(rest)}/docs
   MCP endpoint:        ${host(mcp)}
   Demo login:          ${demo.email} / ${demo.password}

 Log in:
   JWT=$(curl -s -X POST ${host(rest)}/api/auth/login -H "Content-Type: application/json" \\
     -d '{"email":"${demo.email}","password":"${demo.password}"}' \\
     | python3 -c "import sys,json; print(json.load(sys.stdin)['access_token'])")
${token ? '' : '   (the demo login could not be verified: see the messages above)\n'}
 MCP client config (Claude Code .mcp.json; Cursor: the same without "type"):
   { "mcpServers": { "stock-data": { "type": "http", "url": "${host(mcp)}",
       "headers": { "Authorization": "Bearer sk-your-api-key-here" } } } }
   or: claude mcp add --transport http stock-data ${host(mcp)} --header "Authorization: Bearer sk-..."
 Create the key with POST /api/mcp-keys/create (see README).
 Or sign in from the client instead of pasting a key (OAuth; Claude Code: claude mcp login stock-data):
   claude mcp add --transport http stock-data ${host(mcp)}
 Ctrl-C stops everything.
==============================================================================
`);
}

async function main() {
  mkdirSync(dataDir, { recursive: true });
  let clickhouse;
  if (!env.CLICKHOUSE_URL) {
    const httpPort = Number(env.LOCAL_CLICKHOUSE_HTTP_PORT ?? 18123);
    const tcpPort = Number(env.LOCAL_CLICKHOUSE_TCP_PORT ?? 19000);
    console.log(`==> Starting a local ClickHouse (data in .data/clickhouse, http port ${httpPort})`);
    clickhouse = await startLocalClickHouse({ dir: resolve(dataDir, 'clickhouse'), httpPort, tcpPort });
    env.CLICKHOUSE_URL = clickhouse.url;
  }
  env.JWT_SECRET ??= persistentSecret();
  // The try-it-out command always has something to query, whatever NODE_ENV says.
  env.DEMO_DATA ||= 'true';

  const app = spawn(process.execPath, [resolve(root, 'dist/main.js')], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  let stopping = false;
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    if (app.exitCode === null) {
      app.kill('SIGTERM');
      await new Promise((r) => app.once('exit', r));
    }
    await clickhouse?.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  app.once('exit', (code) => void stop(code ?? 1));

  const urls = await waitForListening(app);
  const token = await seedDemoLogin(urls.rest);
  printBanner(urls, token);
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
