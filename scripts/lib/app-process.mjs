// Starts the built gateway (dist/main.js) as a child process and waits for its "listening" log
// line, which carries the REST and MCP URLs (ports may be 0 = any free port). The wait is long:
// on a loaded two-core CI machine loading the app alone has taken over 30 s.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const APP_MAIN = resolve(import.meta.dirname, '../../dist/main.js');

/** `main` runs another entry point (a test's, with an IPC channel when `ipc`) that prints the same line. */
export function startAppProcess(env, { timeoutMs = 60_000, nodeArgs = [], main = APP_MAIN, ipc = false } = {}) {
  const child = spawn(process.execPath, [...nodeArgs, main], { env, stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])] });
  let printed = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (printed += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (printed += chunk));
  const output = () => printed;
  const exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit(code ?? signal ?? -1)));
  const signal = (name) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    return exited;
  };

  return new Promise((resolveApp, reject) => {
    const fail = (message) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${message}\n--- app output ---\n${printed}`));
    };
    const timer = setTimeout(() => fail(`app did not start within ${timeoutMs} ms`), timeoutMs);
    const onData = () => {
      const line = printed.split('\n').find((candidate) => candidate.includes('"msg":"listening"'));
      if (!line) return;
      const { rest, mcp } = JSON.parse(line);
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      resolveApp({ child, restUrl: rest, mcpUrl: mcp.replace(/\/messages$/, ''), output, signal });
    };
    const onExit = (code) => fail(`app exited with code ${code} before listening`);
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}
