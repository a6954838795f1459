import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import type { TestApp } from './test-app.js';

/** The built `npm run admin` script. */
export const ADMIN_CLI = resolve(import.meta.dirname, '../../dist/cli/admin.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

type Database = Pick<TestApp, 'clickhouseUrl' | 'database'>;

/** Runs `command args…` with the environment an operator on the app's server has: its ClickHouse and database. */
export function runWithAppEnv(app: Database, command: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolveRun) => {
    const environment = { PATH: process.env.PATH, NODE_ENV: 'test', CLICKHOUSE_URL: app.clickhouseUrl, CLICKHOUSE_DATABASE: app.database, ...env };
    execFile(command, args, { env: environment, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolveRun({ code, stdout, stderr });
    });
  });
}

/** `npm run admin -- …args` against the app's database, without npm's own start-up (see ADMIN_CLI). */
export function runAdminCli(app: Database, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runWithAppEnv(app, process.execPath, [ADMIN_CLI, ...args], env);
}

/** Makes the account with `email` an administrator the operator's way (`npm run admin -- grant`). */
export async function grantAdmin(app: Database, email: string): Promise<void> {
  const result = await runAdminCli(app, ['grant', email]);
  if (result.code !== 0) throw new Error(`npm run admin -- grant ${email} exited with ${result.code}: ${result.stderr}`);
}
