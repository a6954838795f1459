import type { ChildProcess } from 'node:child_process';

export const APP_MAIN: string;

export interface AppProcess {
  child: ChildProcess;
  restUrl: string;
  /** Without the /messages path. */
  mcpUrl: string;
  /** Everything the process printed so far (structured log lines). */
  output: () => string;
  /** Sends a signal (if still running) and resolves with the exit code or signal name. */
  signal: (name: NodeJS.Signals) => Promise<number | string>;
}

export function startAppProcess(env: NodeJS.ProcessEnv, options?: { timeoutMs?: number; /** Node flags before the script, e.g. --cpu-prof. */ nodeArgs?: string[] }): Promise<AppProcess>;
