// Child processes the bench drives (the gateway, the bare SDK server) and their CPU accounting.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const OUTPUT_LIMIT = 64 * 1024;

const CLOCK_TICKS = (() => {
  const probe = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(probe.stdout) > 0 ? Number(probe.stdout) : 100;
})();

/** CPU seconds (user + system, all threads) a process has used so far; undefined off Linux. */
export function cpuSeconds(pid) {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds all processes of the machine have run (user + system, all cores); undefined off
 * Linux. Interrupt and softirq time is left out: the kernel charges much of the loopback network
 * work there rather than to the processes that caused it.
 */
export function machineBusySeconds() {
  try {
    const [, ...jiffies] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    const [user, nice, system] = jiffies;
    return (user + nice + system) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** CPU seconds of this process (the load generator). */
export function ownCpuSeconds() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

function readCpu(pids) {
  const named = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, name === 'self' ? ownCpuSeconds() : cpuSeconds(pid)]));
  return { ...named, machine: machineBusySeconds() };
}

/**
 * Starts a CPU meter over named processes (`self` is this one); `stop()` returns the cores each
 * used over the interval, plus `other`: what the rest of the machine used (should be near 0).
 */
export function startCpuMeter(pids) {
  const startedAt = performance.now();
  const before = readCpu(pids);
  return {
    stop() {
      const seconds = (performance.now() - startedAt) / 1000;
      const after = readCpu(pids);
      const cores = {};
      for (const name of Object.keys(before)) {
        cores[name] = before[name] === undefined || after[name] === undefined ? undefined : (after[name] - before[name]) / seconds;
      }
      const named = Object.keys(pids).map((name) => cores[name]);
      cores.other = named.includes(undefined) || cores.machine === undefined ? undefined : Math.max(0, cores.machine - named.reduce((a, b) => a + b, 0));
      return { seconds, cores };
    },
  };
}

async function answers(url) {
  try {
    await fetch(url, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

async function waitUntilAnswering(urls, child, output, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`child exited with code ${child.exitCode}\n--- output ---\n${output()}`);
    const ready = await Promise.all(urls.map(answers));
    if (ready.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`child did not answer on ${urls.join(', ')} within ${timeoutMs} ms\n--- output ---\n${output()}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
}

/**
 * Runs `node [nodeArgs] script` with `env` and waits until every URL in `readyUrls` answers HTTP
 * (any status). Returns { pid, output(), stop() }; stop sends SIGTERM (so --cpu-prof gets written)
 * and SIGKILLs after `killAfterMs`.
 */
export async function startNodeProcess({ script, env, nodeArgs = [], readyUrls, timeoutMs = 60_000, killAfterMs = 15_000 }) {
  const child = spawn(process.execPath, [...nodeArgs, script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let printed = '';
  const keep = (chunk) => {
    printed = (printed + chunk).slice(-OUTPUT_LIMIT);
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  const output = () => printed;
  const exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit(code ?? signal)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    }
    return exited;
  };
  try {
    await waitUntilAnswering(readyUrls, child, output, timeoutMs);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { pid: child.pid, output, stop };
}
