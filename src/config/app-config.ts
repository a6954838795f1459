import { randomBytes } from 'node:crypto';
import { type Setting, type SettingTree, type SettingValues, isSetting } from './setting.js';
import { SETTINGS } from './settings.js';

type Declared = SettingValues<typeof SETTINGS>;

/**
 * The typed, validated settings every module reads; built once at start-up from the environment.
 * Each value is SETTINGS' (see its docs there), except for the few made from several settings.
 */
export type AppConfig = Omit<Declared, 'jwt' | 'adminEmails' | 'demoData' | 'clickhouse' | 'metering'> & {
  clickhouse: Declared['clickhouse'] & { urls: string[]; cluster: string | undefined };
  jwt: { secret: string; expiresInSeconds: number; secretWasGenerated: boolean };
  /** Which of AUTH_ADMIN_EMAILS and ADMIN_EMAILS are set: they grant nothing any more, and start-up warns of it. */
  ignoredAdminEmailVariables: (keyof Declared['adminEmails'])[];
  demoData: boolean;
  /** Rate limits and quotas (see src/mcp-metering); 0 means none. */
  metering: Omit<Declared['metering'], 'redisUrl' | 'redisTimeoutMs'> & {
    /** Shared counters (METERING_REDIS_URL); keys are prefixed with the database's name, so deployments may share a Redis. */
    redis: { url: string; prefix: string; timeoutMs: number; holdLifetimeMs: number } | undefined;
  };
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * How long a quota hold in the shared counters outlives a gateway that died holding it: longer than
 * any call runs. A tool runs at most two reads in a row, each tried on every replica and once more
 * after a cut connection (2 × replicas attempts), each within CLICKHOUSE_REQUEST_TIMEOUT_MS; at
 * least a minute.
 */
function holdLifetimeMs(clickhouse: Declared['clickhouse']): number {
  const replicas = clickhouse.urls?.length ?? 1;
  return Math.max(60_000, 4 * replicas * clickhouse.requestTimeoutMs + 10_000);
}

/** Each setting's value from the environment (empty counts as unset), or its problem. */
function readTree(tree: SettingTree, env: NodeJS.ProcessEnv, problems: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(tree).map(([key, node]) => [key, isSetting(node) ? readSetting(node, env, problems) : readTree(node, env, problems)]));
}

function readSetting(setting: Setting, env: NodeJS.ProcessEnv, problems: string[]): unknown {
  const raw = env[setting.variable];
  const result = setting.schema.safeParse(raw === undefined || raw === '' ? setting.fallback : raw);
  if (result.success) return result.data;
  problems.push(...result.error.issues.map((issue) => `${setting.variable} ${issue.message}`));
  return undefined;
}

function jwtSecretProblems(declared: Declared): string[] {
  const problems: string[] = [];
  const { secret, secretKey } = declared.jwt;
  if (secret && secretKey && secret !== secretKey) {
    problems.push("JWT_SECRET and JWT_SECRET_KEY (the original service's name for it) are both set and differ; set one, or both to the same secret");
  }
  if (declared.env === 'production' && !(secret ?? secretKey)) {
    problems.push("JWT_SECRET is required when NODE_ENV=production (at least 32 random characters; JWT_SECRET_KEY, the original service's name, works too)");
  }
  return problems;
}

export function loadAppConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const problems: string[] = [];
  const declared = readTree(SETTINGS, env, problems) as Declared;
  if (!declared.clickhouse.urls && !problems.some((problem) => problem.startsWith('CLICKHOUSE_URL '))) {
    problems.push('CLICKHOUSE_URL is required (e.g. http://127.0.0.1:8123); ./scripts/serve.sh starts a local ClickHouse for you');
  }
  problems.push(...jwtSecretProblems(declared));
  if (problems.length > 0) throw new ConfigError(problems);

  const { jwt, adminEmails, demoData, clickhouse, metering, ...rest } = declared;
  const { redisUrl, redisTimeoutMs, ...quotas } = metering;
  const jwtSecret = jwt.secret ?? jwt.secretKey;
  return {
    ...rest,
    clickhouse: { ...clickhouse, urls: clickhouse.urls ?? [], cluster: clickhouse.cluster },
    jwt: { secret: jwtSecret ?? randomBytes(32).toString('hex'), secretWasGenerated: !jwtSecret, expiresInSeconds: jwt.expiresInSeconds },
    ignoredAdminEmailVariables: (['AUTH_ADMIN_EMAILS', 'ADMIN_EMAILS'] as const).filter((name) => adminEmails[name]),
    demoData: demoData ?? rest.env !== 'production',
    metering: {
      ...quotas,
      redis: redisUrl ? { url: redisUrl, prefix: `stock-mcp:${clickhouse.database}:`, timeoutMs: redisTimeoutMs, holdLifetimeMs: holdLifetimeMs(clickhouse) } : undefined,
    },
  };
}
