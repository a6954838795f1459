import { randomBytes } from 'node:crypto';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { type TrustProxy, compileTrustProxy } from '../common/client-address.js';
import { EnvironmentVariables, type QuotaName, type ToolSetName, splitList } from './environment.dto.js';

/** The typed, validated settings every module reads; built once at start-up from the environment. */
export interface AppConfig {
  env: 'development' | 'production' | 'test';
  logLevel: string;
  http: {
    port: number;
    host: string;
    bodyLimitBytes: number;
    /** Slow clients: time to send all headers, time to send the whole request, idle keep-alive. */
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    /** Open connections per listener, and per peer address; more are closed on arrival. */
    maxConnections: number;
    maxConnectionsPerAddress: number;
    /** Which X-Forwarded-For hops to believe (TRUST_PROXY), for both listeners. */
    trustProxy: TrustProxy;
    /** Whether the unauthenticated /health shows its details (database, usage counters). */
    healthDetails: boolean;
  };
  mcp: {
    port: number;
    maxKeysPerUser: number;
    keyCacheTtlSeconds: number;
    keyCacheMaxEntries: number;
    /** Origins allowed to call /messages (any port); requests without Origin are not browsers and pass. */
    allowedOrigins: string[];
    /** Host header values allowed on /messages; empty means any. */
    allowedHosts: string[];
    /** The tool sets tools/list shows (and that can be called). */
    toolSets: ToolSetName[];
    /** Failed key verifications per client address per window before it gets 429. */
    authFailureLimit: number;
    authFailureWindowSeconds: number;
    /** How long a throttled address's request waits for its 429. */
    throttledHoldMs: number;
    /** ClickHouse lookups of uncached keys at once (16 times as many may wait; more get 503). */
    keyLookupConcurrency: number;
    /** tools/call of one key running at once (as many again may wait; more are refused). */
    callsPerKey: number;
    /** tools/call of one user running at once, all keys and transports together (more are refused). */
    concurrentCallsPerUser: number;
    /** Legacy HTTP+SSE sessions open at once (0: the legacy transport is off). */
    legacySseMaxSessions: number;
    /** Legacy HTTP+SSE sessions of one user open at once (more get 429). */
    legacySseSessionsPerUser: number;
    /** Legacy HTTP+SSE sessions from one client address open at once, all accounts together (more get 429). */
    legacySseSessionsPerAddress: number;
    /** A legacy session without a message or a call under way for this long is closed. */
    legacySseIdleSeconds: number;
    /** How often changes made elsewhere (revokes, policies, accounts) are read (0: never). */
    changePollMs: number;
  };
  oauth: {
    enabled: boolean;
    /** Public URLs when configured; otherwise derived from each request (see PublicUrls). */
    publicApiUrl: string | undefined;
    publicMcpUrl: string | undefined;
    accessTokenTtlSeconds: number;
    refreshReuseGraceSeconds: number;
    grantTtlDays: number;
    /** Registered clients nobody signed in with are deleted this long after registering. */
    unusedClientTtlHours: number;
  };
  clickhouse: {
    /** One URL, or replicas of one shard in the order they are tried. */
    urls: string[];
    database: string;
    /** Replicated tables and ON CLUSTER DDL on this cluster; undefined for one server. */
    cluster: string | undefined;
    /** A second look for a row not found, with replicas (see ClickHouseService.lookUpRecent). */
    replicationGraceMs: number;
    username: string;
    password: string;
    requestTimeoutMs: number;
    /** Per-read limits ClickHouse enforces (max_execution_time, max_memory_usage). */
    queryTimeoutSeconds: number;
    queryMaxMemoryBytes: number;
  };
  jwt: { secret: string; expiresInSeconds: number; secretWasGenerated: boolean };
  /** New password hashes: bcrypt (the original service can verify them) or argon2id. */
  passwordHash: 'bcrypt' | 'argon2id';
  /** The original service's registration allow-list: the email_whitelist table and a file. */
  emailWhitelist: { enabled: boolean; file: string };
  /** Which of AUTH_ADMIN_EMAILS and ADMIN_EMAILS are set: they grant nothing any more, and start-up warns of it. */
  ignoredAdminEmailVariables: string[];
  authRateLimit: { limit: number; windowSeconds: number };
  /** Failed logins per account before it is locked for lockSeconds (addresses it logged in from are exempt). */
  accountLockout: { failureLimit: number; lockSeconds: number };
  usage: {
    batchSize: number;
    flushIntervalMs: number;
    /** Local directory of the durable usage spool; one gateway process per directory. */
    spoolDir: string;
    spoolMaxBytes: number;
    retryBaseDelayMs: number;
    retryMaxDelayMs: number;
    shutdownFlushTimeoutMs: number;
    /** How long a start waits for an earlier run's spooled usage to ship before serving anyway. */
    startupFlushTimeoutMs: number;
    /** History/stats queries one user may run at once; more get 429. */
    queriesPerUser: number;
    /** Deepest history offset (page × page_size); deeper pages are 400, date filters reach the rest. */
    historyMaxOffset: number;
  };
  /** Rate limits and quotas (see src/mcp-metering); 0 means none. */
  metering: {
    defaultCallsPerMinute: number;
    /** For keys whose policy sets no quota of that name. */
    keyQuotas: Record<QuotaName, number>;
    /** Each user's totals over all of their keys. */
    userQuotas: Record<QuotaName, number>;
    refreshSeconds: number;
    /** Shared counters (METERING_REDIS_URL); keys are prefixed with the database's name, so deployments may share a Redis. */
    redis: { url: string; prefix: string; timeoutMs: number; holdLifetimeMs: number } | undefined;
  };
  demoData: boolean;
  /** The data tools' result cache: its byte bound (0 = off) and how often tables are checked for changes. */
  marketCache: { maxBytes: number; checkMs: number };
  /** GET /metrics: this bearer token (a scraper's), or an administrator's JWT. */
  metrics: { token: string | undefined };
}

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
function holdLifetimeMs(vars: EnvironmentVariables): number {
  const replicas = splitList(vars.CLICKHOUSE_URL ?? '').length;
  return Math.max(60_000, 4 * replicas * vars.CLICKHOUSE_REQUEST_TIMEOUT_MS + 10_000);
}

const DURATION_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

export function durationToSeconds(duration: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(duration);
  if (!match) throw new Error(`Not a duration: ${duration}`);
  return Number(match[1]) * DURATION_UNITS[match[2]];
}


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
  for (const name of new Set([...declared, 'CLICKHOUSE_URL', 'JWT_SECRET', 'JWT_SECRET_KEY', 'DEMO_DATA'])) {
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
  const jwtSecret = vars.JWT_SECRET ?? vars.JWT_SECRET_KEY;
  if (vars.JWT_SECRET && vars.JWT_SECRET_KEY && vars.JWT_SECRET !== vars.JWT_SECRET_KEY) {
    problems.push('JWT_SECRET and JWT_SECRET_KEY (the original service\'s name for it) are both set and differ; set one, or both to the same secret');
  }
  if (vars.NODE_ENV === 'production' && !jwtSecret) {
    problems.push('JWT_SECRET is required when NODE_ENV=production (at least 32 random characters; JWT_SECRET_KEY, the original service\'s name, works too)');
  }
  let trustProxy: TrustProxy = () => false;
  try {
    trustProxy = compileTrustProxy(vars.TRUST_PROXY);
  } catch (error) {
    problems.push(`TRUST_PROXY must be false, true, a hop count or a comma-separated list of addresses/subnets (${(error as Error).message})`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    env: vars.NODE_ENV,
    logLevel: vars.LOG_LEVEL,
    http: {
      port: vars.HTTP_PORT,
      host: vars.BIND_HOST,
      bodyLimitBytes: vars.BODY_LIMIT_BYTES,
      headersTimeoutMs: vars.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: vars.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: vars.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      maxConnections: vars.HTTP_MAX_CONNECTIONS,
      maxConnectionsPerAddress: vars.HTTP_MAX_CONNECTIONS_PER_ADDRESS,
      trustProxy,
      healthDetails: vars.HEALTH_DETAILS,
    },
    mcp: {
      port: vars.MCP_PORT,
      maxKeysPerUser: vars.MCP_MAX_KEYS_PER_USER,
      keyCacheTtlSeconds: vars.MCP_KEY_CACHE_TTL_SECONDS,
      keyCacheMaxEntries: vars.MCP_KEY_CACHE_MAX_ENTRIES,
      allowedOrigins: splitList(vars.MCP_ALLOWED_ORIGINS),
      allowedHosts: splitList(vars.MCP_ALLOWED_HOSTS).map((host) => host.toLowerCase()),
      toolSets: [...new Set(splitList(vars.MCP_TOOL_SETS))] as ToolSetName[],
      authFailureLimit: vars.MCP_AUTH_FAILURE_LIMIT,
      authFailureWindowSeconds: vars.MCP_AUTH_FAILURE_WINDOW_SECONDS,
      throttledHoldMs: vars.MCP_THROTTLED_HOLD_MS,
      keyLookupConcurrency: vars.MCP_KEY_LOOKUP_CONCURRENCY,
      callsPerKey: vars.MCP_CALLS_PER_KEY,
      concurrentCallsPerUser: vars.MCP_CONCURRENT_CALLS_PER_USER,
      legacySseMaxSessions: vars.MCP_LEGACY_SSE_MAX_SESSIONS,
      legacySseSessionsPerUser: vars.MCP_LEGACY_SSE_SESSIONS_PER_USER,
      legacySseSessionsPerAddress: vars.MCP_LEGACY_SSE_SESSIONS_PER_ADDRESS,
      legacySseIdleSeconds: vars.MCP_LEGACY_SSE_IDLE_SECONDS,
      changePollMs: vars.MCP_CHANGE_POLL_MS,
    },
    oauth: {
      enabled: vars.OAUTH_ENABLED,
      publicApiUrl: vars.PUBLIC_API_URL?.replace(/\/+$/, ''),
      publicMcpUrl: vars.PUBLIC_MCP_URL?.replace(/\/+$/, ''),
      accessTokenTtlSeconds: vars.OAUTH_ACCESS_TOKEN_TTL_SECONDS,
      refreshReuseGraceSeconds: vars.OAUTH_REFRESH_REUSE_GRACE_SECONDS,
      grantTtlDays: vars.OAUTH_GRANT_TTL_DAYS,
      unusedClientTtlHours: vars.OAUTH_UNUSED_CLIENT_TTL_HOURS,
    },
    clickhouse: {
      urls: splitList(vars.CLICKHOUSE_URL ?? ''),
      cluster: vars.CLICKHOUSE_CLUSTER,
      replicationGraceMs: vars.CLICKHOUSE_REPLICATION_GRACE_MS,
      database: vars.CLICKHOUSE_DATABASE,
      username: vars.CLICKHOUSE_USER,
      password: vars.CLICKHOUSE_PASSWORD,
      requestTimeoutMs: vars.CLICKHOUSE_REQUEST_TIMEOUT_MS,
      queryTimeoutSeconds: vars.CLICKHOUSE_QUERY_TIMEOUT_SECONDS,
      queryMaxMemoryBytes: vars.CLICKHOUSE_QUERY_MAX_MEMORY_BYTES,
    },
    jwt: {
      secret: jwtSecret ?? randomBytes(32).toString('hex'),
      secretWasGenerated: !jwtSecret,
      expiresInSeconds: durationToSeconds(vars.JWT_EXPIRES_IN),
    },
    passwordHash: vars.PASSWORD_HASH,
    emailWhitelist: { enabled: vars.AUTH_EMAIL_WHITELIST_ENABLED, file: vars.AUTH_EMAIL_WHITELIST_FILE },
    ignoredAdminEmailVariables: (['AUTH_ADMIN_EMAILS', 'ADMIN_EMAILS'] as const).filter((name) => splitList(vars[name]).length > 0),
    authRateLimit: { limit: vars.AUTH_RATE_LIMIT, windowSeconds: vars.AUTH_RATE_WINDOW_SECONDS },
    accountLockout: { failureLimit: vars.AUTH_ACCOUNT_FAILURE_LIMIT, lockSeconds: vars.AUTH_ACCOUNT_LOCK_SECONDS },
    demoData: vars.DEMO_DATA ?? vars.NODE_ENV !== 'production',
    marketCache: { maxBytes: vars.MARKET_CACHE_MAX_BYTES, checkMs: vars.MARKET_CACHE_CHECK_MS },
    metering: {
      defaultCallsPerMinute: vars.MCP_DEFAULT_CALLS_PER_MINUTE,
      keyQuotas: { records_per_day: vars.QUOTA_KEY_RECORDS_PER_DAY, records_per_month: vars.QUOTA_KEY_RECORDS_PER_MONTH, calls_per_day: vars.QUOTA_KEY_CALLS_PER_DAY },
      userQuotas: { records_per_day: vars.QUOTA_USER_RECORDS_PER_DAY, records_per_month: vars.QUOTA_USER_RECORDS_PER_MONTH, calls_per_day: vars.QUOTA_USER_CALLS_PER_DAY },
      refreshSeconds: vars.QUOTA_REFRESH_SECONDS,
      redis: vars.METERING_REDIS_URL
        ? { url: vars.METERING_REDIS_URL, prefix: `stock-mcp:${vars.CLICKHOUSE_DATABASE}:`, timeoutMs: vars.METERING_REDIS_TIMEOUT_MS, holdLifetimeMs: holdLifetimeMs(vars) }
        : undefined,
    },
    usage: {
      batchSize: vars.USAGE_BATCH_SIZE,
      flushIntervalMs: vars.USAGE_FLUSH_INTERVAL_MS,
      spoolDir: vars.USAGE_SPOOL_DIR,
      spoolMaxBytes: vars.USAGE_SPOOL_MAX_BYTES,
      retryBaseDelayMs: vars.USAGE_RETRY_BASE_DELAY_MS,
      retryMaxDelayMs: vars.USAGE_RETRY_MAX_DELAY_MS,
      shutdownFlushTimeoutMs: vars.USAGE_SHUTDOWN_FLUSH_TIMEOUT_MS,
      startupFlushTimeoutMs: vars.USAGE_STARTUP_FLUSH_TIMEOUT_MS,
      queriesPerUser: vars.USAGE_QUERIES_PER_USER,
      historyMaxOffset: vars.USAGE_HISTORY_MAX_OFFSET,
    },
    metrics: { token: vars.METRICS_TOKEN },
  };
}
