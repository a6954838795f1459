import { randomBytes } from 'node:crypto';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { EnvironmentVariables } from './environment.dto.js';

/** The typed, validated settings every module reads; built once at start-up from the environment. */
export interface AppConfig {
  env: 'development' | 'production' | 'test';
  logLevel: string;
  http: { port: number; host: string; bodyLimitBytes: number };
  mcp: {
    port: number;
    maxKeysPerUser: number;
    keyCacheTtlSeconds: number;
    keyCacheMaxEntries: number;
    /** Origins allowed to call /messages (any port); requests without Origin are not browsers and pass. */
    allowedOrigins: string[];
    /** Host header values allowed on /messages; empty means any. */
    allowedHosts: string[];
  };
  clickhouse: { url: string; database: string; username: string; password: string; requestTimeoutMs: number };
  jwt: { secret: string; expiresInSeconds: number; secretWasGenerated: boolean };
  authRateLimit: { limit: number; windowSeconds: number };
  usage: {
    batchSize: number;
    flushIntervalMs: number;
    /** Local directory of the durable usage spool; one gateway process per directory. */
    spoolDir: string;
    spoolMaxBytes: number;
    retryMaxDelayMs: number;
    shutdownFlushTimeoutMs: number;
  };
  demoData: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const DURATION_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

export function durationToSeconds(duration: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(duration);
  if (!match) throw new Error(`Not a duration: ${duration}`);
  return Number(match[1]) * DURATION_UNITS[match[2]];
}

const splitList = (value: string) => value.split(',').map((item) => item.trim()).filter(Boolean);

function describeProblems(errors: ValidationError[]): string[] {
  return errors.flatMap((error) =>
    Object.values(error.constraints ?? {}).map((message) =>
      message.startsWith(error.property) ? message : `${error.property}: ${message}`,
    ),
  );
}

/** Reads only the variables EnvironmentVariables declares; empty strings count as unset. */
function pickDeclared(env: NodeJS.ProcessEnv): Record<string, string> {
  const declared = Object.keys(new EnvironmentVariables());
  const picked: Record<string, string> = {};
  for (const name of [...declared, 'CLICKHOUSE_URL', 'JWT_SECRET']) {
    const value = env[name];
    if (value !== undefined && value !== '') picked[name] = value;
  }
  return picked;
}

export function loadAppConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const vars = plainToInstance(EnvironmentVariables, pickDeclared(env), { exposeDefaultValues: true });
  const problems = describeProblems(validateSync(vars, { skipMissingProperties: false }));
  if (!vars.CLICKHOUSE_URL && !problems.some((p) => p.startsWith('CLICKHOUSE_URL'))) {
    problems.push('CLICKHOUSE_URL is required (e.g. http://127.0.0.1:8123); ./scripts/serve.sh starts a local ClickHouse for you');
  }
  if (vars.NODE_ENV === 'production' && !vars.JWT_SECRET) {
    problems.push('JWT_SECRET is required when NODE_ENV=production (at least 32 random characters)');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    env: vars.NODE_ENV,
    logLevel: vars.LOG_LEVEL,
    http: { port: vars.HTTP_PORT, host: vars.BIND_HOST, bodyLimitBytes: vars.BODY_LIMIT_BYTES },
    mcp: {
      port: vars.MCP_PORT,
      maxKeysPerUser: vars.MCP_MAX_KEYS_PER_USER,
      keyCacheTtlSeconds: vars.MCP_KEY_CACHE_TTL_SECONDS,
      keyCacheMaxEntries: vars.MCP_KEY_CACHE_MAX_ENTRIES,
      allowedOrigins: splitList(vars.MCP_ALLOWED_ORIGINS),
      allowedHosts: splitList(vars.MCP_ALLOWED_HOSTS).map((host) => host.toLowerCase()),
    },
    clickhouse: {
      url: vars.CLICKHOUSE_URL,
      database: vars.CLICKHOUSE_DATABASE,
      username: vars.CLICKHOUSE_USER,
      password: vars.CLICKHOUSE_PASSWORD,
      requestTimeoutMs: vars.CLICKHOUSE_REQUEST_TIMEOUT_MS,
    },
    jwt: {
      secret: vars.JWT_SECRET ?? randomBytes(32).toString('hex'),
      secretWasGenerated: !vars.JWT_SECRET,
      expiresInSeconds: durationToSeconds(vars.JWT_EXPIRES_IN),
    },
    authRateLimit: { limit: vars.AUTH_RATE_LIMIT, windowSeconds: vars.AUTH_RATE_WINDOW_SECONDS },
    demoData: vars.DEMO_DATA,
    usage: {
      batchSize: vars.USAGE_BATCH_SIZE,
      flushIntervalMs: vars.USAGE_FLUSH_INTERVAL_MS,
      spoolDir: vars.USAGE_SPOOL_DIR,
      spoolMaxBytes: vars.USAGE_SPOOL_MAX_BYTES,
      retryMaxDelayMs: vars.USAGE_RETRY_MAX_DELAY_MS,
      shutdownFlushTimeoutMs: vars.USAGE_SHUTDOWN_FLUSH_TIMEOUT_MS,
    },
  };
}
