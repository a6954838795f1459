import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, isURL, Matches, Max, Min, MinLength, ValidateBy } from 'class-validator';

/** A comma-separated setting as its items, blanks dropped. */
export const splitList = (value: string) => value.split(',').map((item) => item.trim()).filter(Boolean);
/**
 * The tool sets MCP_TOOL_SETS chooses from. Config owns the names; market-data's TOOL_SETS must
 * give each exactly one tool list (the compiler checks, `satisfies Record<ToolSetName, ...>`).
 */
export const TOOL_SET_NAMES = ['stock', 'tushare'] as const;
export type ToolSetName = (typeof TOOL_SET_NAMES)[number];
const TOOL_SET_LIST = new RegExp(`^\\s*(${TOOL_SET_NAMES.join('|')})(\\s*,\\s*(${TOOL_SET_NAMES.join('|')}))*\\s*$`);

/** The quotas the QUOTA_KEY_* and QUOTA_USER_* settings (and a key policy) set, by their API names. */
export const QUOTA_NAMES = ['records_per_day', 'records_per_month', 'calls_per_day'] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];

/** Host names such as docker compose's `clickhouse_1` have underscores. */
const HTTP_URL = { require_tld: false, protocols: ['http', 'https'], require_protocol: true, allow_underscores: true };

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value);
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const normalized = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normalized)) return true;
  if (['false', '0', 'no', 'off'].includes(normalized)) return false;
  return value;
};

/** Every setting the process reads, exactly as it appears in the environment (see .env.example). */
export class EnvironmentVariables {
  @IsOptional() @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  HTTP_PORT = 8000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  MCP_PORT = 8001;

  @IsOptional() @IsString()
  BIND_HOST = '0.0.0.0';

  /** One server (or a load balancer), or replicas of one shard separated by commas, used in turn when one fails. */
  @IsOptional()
  @ValidateBy({
    name: 'isUrlList',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && splitList(value).length > 0 && splitList(value).every((url) => isURL(url, HTTP_URL)),
      defaultMessage: () => 'CLICKHOUSE_URL must be an http(s) URL such as http://127.0.0.1:8123, or several separated by commas (replicas)',
    },
  })
  CLICKHOUSE_URL: string;

  @IsOptional() @Matches(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, { message: 'CLICKHOUSE_DATABASE must be a plain identifier (letters, digits, underscore)' })
  CLICKHOUSE_DATABASE = 'stock_mcp';

  /**
   * A cluster of ClickHouse replicas (its name in the servers' remote_servers): tables this service
   * creates are created ON CLUSTER with Replicated engines, columns added ON CLUSTER. Unset: one server.
   */
  @IsOptional() @Matches(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, { message: 'CLICKHOUSE_CLUSTER must be a plain identifier (the cluster name in remote_servers)' })
  CLICKHOUSE_CLUSTER?: string;

  /**
   * With replicas (CLICKHOUSE_CLUSTER or a list of URLs), how long a lookup of a key, token or
   * account that was not found waits before asking once more: it may have been written a moment
   * ago through another replica. 0 asks once only.
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(5000)
  CLICKHOUSE_REPLICATION_GRACE_MS = 200;

  @IsOptional() @IsString()
  CLICKHOUSE_USER = 'default';

  @IsOptional() @IsString()
  CLICKHOUSE_PASSWORD = '';

  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  CLICKHOUSE_REQUEST_TIMEOUT_MS = 10_000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3600)
  CLICKHOUSE_QUERY_TIMEOUT_SECONDS = 5;

  @IsOptional() @Transform(toInt) @IsInt() @Min(16 * 1024 * 1024) @Max(1_099_511_627_776)
  CLICKHOUSE_QUERY_MAX_MEMORY_BYTES = 1024 * 1024 * 1024;

  @IsOptional() @IsString() @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters' })
  JWT_SECRET?: string;

  /** The original service's name for the same secret; either may be set (equal if both). */
  @IsOptional() @IsString() @MinLength(32, { message: 'JWT_SECRET_KEY must be at least 32 characters' })
  JWT_SECRET_KEY?: string;

  @IsOptional() @IsIn(['bcrypt', 'argon2id'])
  PASSWORD_HASH: 'bcrypt' | 'argon2id' = 'bcrypt';

  @IsOptional() @Transform(toBool) @IsBoolean()
  AUTH_EMAIL_WHITELIST_ENABLED = false;

  @IsOptional() @IsString()
  AUTH_EMAIL_WHITELIST_FILE = 'data/email.txt';

  /** Once lists of admins; still accepted so old deployments start, but they grant nothing (a warning says so). */
  @IsOptional() @IsString()
  AUTH_ADMIN_EMAILS = '';

  @IsOptional() @IsString()
  ADMIN_EMAILS = '';

  @IsOptional() @Matches(/^\d+[smhd]?$/, { message: 'JWT_EXPIRES_IN must be a duration such as 3600, 30m, 12h or 1d' })
  JWT_EXPIRES_IN = '1d';

  @IsOptional() @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  @IsOptional() @Transform(toInt) @IsInt() @Min(1024) @Max(64 * 1024 * 1024)
  BODY_LIMIT_BYTES = 1024 * 1024;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1000) @Max(600_000)
  HTTP_HEADERS_TIMEOUT_MS = 10_000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1000) @Max(3_600_000)
  HTTP_REQUEST_TIMEOUT_MS = 30_000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  HTTP_KEEP_ALIVE_TIMEOUT_MS = 5000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000)
  HTTP_MAX_CONNECTIONS = 1024;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000)
  HTTP_MAX_CONNECTIONS_PER_ADDRESS = 128;

  /** Checked in loadAppConfig by compiling it (client-address.ts). */
  @IsOptional() @IsString()
  TRUST_PROXY = 'false';

  @IsOptional() @Transform(toBool) @IsBoolean()
  HEALTH_DETAILS = false;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100_000)
  AUTH_RATE_LIMIT = 20;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(86_400)
  AUTH_RATE_WINDOW_SECONDS = 60;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100_000)
  AUTH_ACCOUNT_FAILURE_LIMIT = 10;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(86_400)
  AUTH_ACCOUNT_LOCK_SECONDS = 900;

  /** Unset: on, except when NODE_ENV=production (a production database must not get fake prices). */
  @IsOptional() @Transform(toBool) @IsBoolean()
  DEMO_DATA?: boolean;

  /** Bound of the data tools' result cache (the JSON size of its rows); 0 turns it off. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(68_719_476_736)
  MARKET_CACHE_MAX_BYTES = 67_108_864;

  /** How often the tables with cached answers are checked for changes; answers show a change within twice this. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(50) @Max(600_000)
  MARKET_CACHE_CHECK_MS = 1000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  MCP_MAX_KEYS_PER_USER = 20;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(3600)
  MCP_KEY_CACHE_TTL_SECONDS = 30;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(10_000_000)
  MCP_KEY_CACHE_MAX_ENTRIES = 10_000;

  @IsOptional() @IsString()
  MCP_ALLOWED_ORIGINS = 'http://localhost,http://127.0.0.1,http://[::1]';

  @IsOptional() @IsString()
  MCP_ALLOWED_HOSTS = '';

  @IsOptional() @Matches(TOOL_SET_LIST, { message: `MCP_TOOL_SETS must list tool sets from: ${TOOL_SET_NAMES.join(', ')} (comma-separated)` })
  MCP_TOOL_SETS = 'stock,tushare';

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000)
  MCP_AUTH_FAILURE_LIMIT = 30;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  MCP_KEY_LOOKUP_CONCURRENCY = 8;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  MCP_CALLS_PER_KEY = 16;

  /** tools/call of one user running at once, across all their keys, tokens and both transports; more are refused. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(10_000)
  MCP_CONCURRENT_CALLS_PER_USER = 32;

  /**
   * How often each instance reads the keys, policies and accounts changed elsewhere (other
   * instances, the original service) and drops the cached verdicts they touch: the bound on how
   * long a revoke made elsewhere can lag here. 0: only the key cache TTL bounds it.
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(600_000)
  MCP_CHANGE_POLL_MS = 1000;

  /** Legacy HTTP+SSE sessions (GET /sse) open at once on one instance; more get 503. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(100_000)
  MCP_LEGACY_SSE_MAX_SESSIONS = 1000;

  /** Legacy SSE sessions one user may hold open on one instance (all their keys and tokens together); more get 429. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100_000)
  MCP_LEGACY_SSE_SESSIONS_PER_USER = 10;

  /**
   * Legacy SSE sessions one client address (as TRUST_PROXY reads it) may hold open on one instance,
   * whatever the accounts; more get 429. Free accounts are cheap, addresses are not: without it a
   * few addresses with many accounts fill MCP_LEGACY_SSE_MAX_SESSIONS for everyone.
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100_000)
  MCP_LEGACY_SSE_SESSIONS_PER_ADDRESS = 20;

  /** A legacy SSE session with no message posted and no call under way for this long is closed. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(86_400)
  MCP_LEGACY_SSE_IDLE_SECONDS = 300;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(86_400)
  MCP_AUTH_FAILURE_WINDOW_SECONDS = 60;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(60_000)
  MCP_THROTTLED_HOLD_MS = 10_000;

  /** Per-key rate limit for keys without their own; 0: none. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(1_000_000)
  MCP_DEFAULT_CALLS_PER_MINUTE = 0;

  /** Quotas of keys without their own (0: none), and each user's totals over all their keys (0: none). */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0)
  QUOTA_KEY_RECORDS_PER_DAY = 0;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0)
  QUOTA_KEY_RECORDS_PER_MONTH = 0;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0)
  QUOTA_KEY_CALLS_PER_DAY = 0;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0)
  QUOTA_USER_RECORDS_PER_DAY = 0;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0)
  QUOTA_USER_RECORDS_PER_MONTH = 0;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0)
  QUOTA_USER_CALLS_PER_DAY = 0;

  /** How often quota counters re-read ClickHouse for what other instances (or the original service) recorded. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3600)
  QUOTA_REFRESH_SECONDS = 30;

  /**
   * Redis for rate limits and quotas counted across every gateway at once (exact with many
   * instances); unset, each gateway counts its own calls (docs/scaling.md states the bound).
   */
  @IsOptional() @IsUrl({ require_tld: false, protocols: ['redis', 'rediss'], require_protocol: true, allow_underscores: true }, { message: 'METERING_REDIS_URL must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379/0' })
  METERING_REDIS_URL?: string;

  /** How long a metering command may take before the gateway counts that call on its own. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(10) @Max(10_000)
  METERING_REDIS_TIMEOUT_MS = 250;

  /** How long a start waits for the usage an earlier run left in the spool to ship before it serves anyway. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(600_000)
  USAGE_STARTUP_FLUSH_TIMEOUT_MS = 30_000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  USAGE_QUERIES_PER_USER = 2;

  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(1_000_000)
  USAGE_HISTORY_MAX_OFFSET = 10_000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100_000)
  USAGE_BATCH_SIZE = 500;

  @IsOptional() @Transform(toInt) @IsInt() @Min(10) @Max(60_000)
  USAGE_FLUSH_INTERVAL_MS = 1000;

  @IsOptional() @IsString()
  USAGE_SPOOL_DIR = '.data/usage-spool';

  @IsOptional() @Transform(toInt) @IsInt() @Min(65_536) @Max(1_099_511_627_776)
  USAGE_SPOOL_MAX_BYTES = 268_435_456;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(600_000)
  USAGE_RETRY_BASE_DELAY_MS = 100;

  @IsOptional() @Transform(toInt) @IsInt() @Min(10) @Max(600_000)
  USAGE_RETRY_MAX_DELAY_MS = 30_000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(600_000)
  USAGE_SHUTDOWN_FLUSH_TIMEOUT_MS = 5000;

  /** Sign-in from MCP clients with OAuth 2.1 (see docs/oauth.md); off: only pasted `sk-` keys. */
  @IsOptional() @Transform(toBool) @IsBoolean()
  OAUTH_ENABLED = true;

  /** The REST API's public URL, the OAuth issuer (e.g. https://stock.example.com); unset: from each request's Host and HTTP_PORT. */
  @IsOptional() @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true }, { message: 'PUBLIC_API_URL must be an http(s) URL such as https://stock.example.com' })
  PUBLIC_API_URL?: string;

  /** The MCP endpoint's public URL (e.g. https://mcp.stock.example.com/messages); unset: from each request's Host and MCP_PORT. */
  @IsOptional() @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true }, { message: 'PUBLIC_MCP_URL must be an http(s) URL such as https://mcp.stock.example.com/messages' })
  PUBLIC_MCP_URL?: string;

  /** Lifetime of an OAuth access token; the client refreshes it with its refresh token. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(86_400)
  OAUTH_ACCESS_TOKEN_TTL_SECONDS = 3600;

  /**
   * How long after a refresh the refresh token it replaced may still be presented without ending
   * the sign-in (two sessions of one client refreshing at once, an answer lost); later, a reuse
   * means the token leaked and the sign-in is revoked.
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(3600)
  OAUTH_REFRESH_REUSE_GRACE_SECONDS = 60;

  /** Lifetime of an OAuth sign-in (its key "OAuth: <client>"); the user signs in again after it. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3650)
  OAUTH_GRANT_TTL_DAYS = 90;

  /** A client registered (RFC 7591) that no user signed in with within this many hours is deleted. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(8760)
  OAUTH_UNUSED_CLIENT_TTL_HOURS = 24;

  /** Bearer token a Prometheus server scrapes GET /metrics with; unset: only administrators' JWTs may. */
  @IsOptional() @IsString() @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters' })
  METRICS_TOKEN?: string;
}
