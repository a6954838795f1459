import { type KeyObject, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { type TrustProxy, compileTrustProxy } from '../common/client-address.js';
import { type Setting, atLeastChars, bool, int, list, matching, oneOf, optional, setting, splitList, text, url, urlList } from './setting.js';

/**
 * The tool sets MCP_TOOL_SETS chooses from. Config owns the names; market-data's TOOL_SETS must
 * give each exactly one tool list (the compiler checks, `satisfies Record<ToolSetName, ...>`).
 */
export const TOOL_SET_NAMES = ['stock', 'tushare'] as const;
export type ToolSetName = (typeof TOOL_SET_NAMES)[number];

/**
 * The quotas there are, by their API names (key policies, QUOTA_KEY_* and QUOTA_USER_* settings,
 * refusals, metrics): what each counts and over which UTC period. The one list of them.
 */
export const QUOTA_KINDS = {
  records_per_day: { counts: 'records', period: 'day' },
  records_per_month: { counts: 'records', period: 'month' },
  calls_per_day: { counts: 'calls', period: 'day' },
} as const satisfies Record<string, { counts: 'records' | 'calls'; period: 'day' | 'month' }>;
export type QuotaName = keyof typeof QUOTA_KINDS;
export const QUOTA_NAMES = Object.keys(QUOTA_KINDS) as QuotaName[];

const DURATION_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

export function durationToSeconds(duration: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(duration);
  if (!match) throw new Error(`Not a duration: ${duration}`);
  return Number(match[1]) * DURATION_UNITS[match[2]];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const TOOL_SET_LIST = new RegExp(`^\\s*(${TOOL_SET_NAMES.join('|')})(\\s*,\\s*(${TOOL_SET_NAMES.join('|')}))*\\s*$`);
const port = () => int(0, 65_535);
/** Public URLs are compared without a trailing slash. */
const publicUrl = (example: string) => optional(url(['http', 'https'], example).transform((value) => value.replace(/\/+$/, '')));

const trustProxy = text().transform((value, context): TrustProxy => {
  try {
    return compileTrustProxy(value);
  } catch (error) {
    context.addIssue({ code: 'custom', message: `must be false, true, a hop count or a comma-separated list of addresses/subnets (${(error as Error).message})` });
    return z.NEVER;
  }
});

/** The RSA public key in a PEM file; a path that holds none stops the start (else every paying customer would get 401). */
const rsaPublicKeyFile = text().transform((path, context): KeyObject => {
  let key: KeyObject;
  try {
    key = createPublicKey(readFileSync(path));
  } catch (error) {
    context.addIssue({ code: 'custom', message: `names ${path}, which is not a readable PEM public key (${(error as Error).message})` });
    return z.NEVER;
  }
  if (key.asymmetricKeyType === 'rsa') return key;
  context.addIssue({ code: 'custom', message: `names ${path}, which holds a ${key.asymmetricKeyType ?? 'non-asymmetric'} key; the management platform signs with RS256, so it must be an RSA public key` });
  return z.NEVER;
});

/** QUOTA_<SCOPE>_<NAME> for each quota kind: 0 is none. */
function quotaSettings(scope: 'KEY' | 'USER', doc: string): Record<QuotaName, Setting<number>> {
  const entries = QUOTA_NAMES.map((name, index) => [name, setting(`QUOTA_${scope}_${name.toUpperCase()}`, '0', int(0), index === 0 ? doc : '')] as const);
  return Object.fromEntries(entries) as Record<QuotaName, Setting<number>>;
}

/**
 * Every setting the process reads, each declared once: validation, the typed configuration
 * (AppConfig, in this shape) and .env.example (`npm run env:example`) all come from here. The
 * order and sections are .env.example's.
 */
export const SETTINGS = {
  env: setting('NODE_ENV', 'development', oneOf(['development', 'production', 'test']), 'development | production | test. production requires JWT_SECRET.'),
  http: {
    port: setting('HTTP_PORT', '8000', port(), 'REST API, Swagger (/docs, /docs-json), the console and /health.'),
    host: setting('BIND_HOST', '0.0.0.0', text(), 'Address both listeners bind to.'),
    bodyLimitBytes: setting('BODY_LIMIT_BYTES', '1048576', int(1024, 64 * 1024 * 1024), 'Largest accepted request body; bigger ones get 413 (a larger Content-Length before any byte is read).'),
    headersTimeoutMs: setting('HTTP_HEADERS_TIMEOUT_MS', '10000', int(1000, 600_000), 'Slow clients, per listener: a request whose headers take longer than this many ms gets 408 and its connection closes.'),
    requestTimeoutMs: setting('HTTP_REQUEST_TIMEOUT_MS', '30000', int(1000, 3_600_000), 'A request (headers and body) that takes longer than this many ms gets 408 and its connection closes.'),
    keepAliveTimeoutMs: setting('HTTP_KEEP_ALIVE_TIMEOUT_MS', '5000', int(100, 600_000), 'Idle keep-alive connections close after this many ms.'),
    maxConnections: setting('HTTP_MAX_CONNECTIONS', '1024', int(1, 1_000_000), 'Open connections per listener; more are closed on arrival.'),
    maxConnectionsPerAddress: setting('HTTP_MAX_CONNECTIONS_PER_ADDRESS', '128', int(1, 1_000_000), 'Open connections from one peer address; more are closed on arrival (a trusted proxy is exempt).'),
    trustProxy: setting(
      'TRUST_PROXY',
      'false',
      trustProxy,
      "Which proxies' X-Forwarded-For to believe when finding the client's address (throttles, logs), for both listeners: false (none: the socket's peer is the client), true (any; only behind a proxy that overwrites the header), a hop count, or addresses/CIDR subnets/loopback,linklocal,uniquelocal.",
    ),
    healthDetails: setting('HEALTH_DETAILS', 'false', bool(), '/health answers {"status":"ok"|"error"} to anyone; true adds the database and usage queue details.'),
  },
  logLevel: setting('LOG_LEVEL', 'info', oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'fatal | error | warn | info | debug | trace | silent'),
  demoData: setting(
    'DEMO_DATA',
    undefined,
    optional(bool()),
    'Fill the demo stock tables on start when all five are empty (never beside real rows). Unset: on, except with NODE_ENV=production. ./scripts/serve.sh runs in development, so it has demo data.',
  ),
  clickhouse: {
    urls: setting(
      'CLICKHOUSE_URL',
      undefined,
      optional(urlList('must be an http(s) URL such as http://127.0.0.1:8123, or several separated by commas (replicas)')),
      'Required. Left unset, ./scripts/serve.sh starts a local clickhouse-server (data in .data/clickhouse, ports LOCAL_CLICKHOUSE_HTTP_PORT/LOCAL_CLICKHOUSE_TCP_PORT = 18123/19000). Several replicas of one shard, comma-separated (http://ch1:8123,http://ch2:8123): the app keeps to one and moves to the next when it is unreachable (docs/scaling.md).',
    ),
    database: setting('CLICKHOUSE_DATABASE', 'stock_mcp', matching(IDENTIFIER, 'must be a plain identifier (letters, digits, underscore)'), 'The app creates this database and its tables at start-up.'),
    cluster: setting(
      'CLICKHOUSE_CLUSTER',
      undefined,
      optional(matching(IDENTIFIER, 'must be a plain identifier (the cluster name in remote_servers)')),
      "A replicated ClickHouse cluster (its name in the servers' remote_servers): tables are created ON CLUSTER with Replicated engines. Empty: one server. See docs/scaling.md.",
    ),
    replicationGraceMs: setting(
      'CLICKHOUSE_REPLICATION_GRACE_MS',
      '200',
      int(0, 5000),
      'With replicas (CLICKHOUSE_CLUSTER, or several URLs): a key, OAuth code/token or account not found is looked up once more after this many ms (it may have been written through another replica a moment ago). 0: look once.',
    ),
    username: setting('CLICKHOUSE_USER', 'default', text(), 'ClickHouse user.'),
    password: setting('CLICKHOUSE_PASSWORD', '', text(), 'ClickHouse password.'),
    requestTimeoutMs: setting(
      'CLICKHOUSE_REQUEST_TIMEOUT_MS',
      '10000',
      int(100, 600_000),
      'Per-request timeout towards ClickHouse, in milliseconds. Start-up work (DDL, the key index backfill, the demo seed) runs once before any request and may take up to 5 minutes per statement.',
    ),
    queryTimeoutSeconds: setting(
      'CLICKHOUSE_QUERY_TIMEOUT_SECONDS',
      '5',
      int(1, 3600),
      'Limits ClickHouse enforces on every read (max_execution_time, and max_memory_usage below): one heavy request cannot hold the server for everyone. A read past them is answered 503 / "try again".',
    ),
    queryMaxMemoryBytes: setting('CLICKHOUSE_QUERY_MAX_MEMORY_BYTES', '1073741824', int(16 * 1024 * 1024, 1_099_511_627_776), ''),
  },
  jwt: {
    secret: setting(
      'JWT_SECRET',
      undefined,
      optional(atLeastChars(32)),
      "At least 32 characters; required in production. Unset in development: a random one per start (./scripts/serve.sh keeps one in .data/jwt-secret so logins survive restarts). Give it the original service's JWT_SECRET_KEY to share login tokens with it; JWT_SECRET_KEY itself is read too (if both are set they must be equal).",
    ),
    secretKey: setting('JWT_SECRET_KEY', undefined, optional(atLeastChars(32)), ''),
    expiresInSeconds: setting('JWT_EXPIRES_IN', '1d', matching(/^\d+[smhd]?$/, 'must be a duration such as 3600, 30m, 12h or 1d').transform(durationToSeconds), 'Lifetime of login tokens: seconds, or a number with s/m/h/d.'),
  },
  passwordHash: setting('PASSWORD_HASH', 'bcrypt', oneOf(['bcrypt', 'argon2id']), 'New password hashes: bcrypt (cost 12, $2b$: the original service verifies them) or argon2id. Both kinds are always verified.'),
  emailWhitelist: {
    enabled: setting(
      'AUTH_EMAIL_WHITELIST_ENABLED',
      'false',
      bool(),
      "The original service's registration allow-list: when true, only emails in an active row of the email_whitelist table or in the file (\";\"- or line-separated) may register; others get 403.",
    ),
    file: setting('AUTH_EMAIL_WHITELIST_FILE', 'data/email.txt', text(), ''),
  },
  adminEmails: {
    AUTH_ADMIN_EMAILS: setting(
      'AUTH_ADMIN_EMAILS',
      '',
      list().transform((emails) => emails.length > 0),
      'Ignored (default empty): they once made any account with a listed email an admin, even one a stranger registered first. Admins are users.is_admin only; grant with `npm run admin -- grant <email>`. Still accepted so old deployments start; a warning is logged while either is set.',
    ),
    ADMIN_EMAILS: setting('ADMIN_EMAILS', '', list().transform((emails) => emails.length > 0), ''),
  },
  authRateLimit: {
    limit: setting('AUTH_RATE_LIMIT', '20', int(1, 100_000), 'Register and login attempts allowed per client address in each window; more get 429 with Retry-After.'),
    windowSeconds: setting('AUTH_RATE_WINDOW_SECONDS', '60', int(1, 86_400), ''),
  },
  accountLockout: {
    failureLimit: setting(
      'AUTH_ACCOUNT_FAILURE_LIMIT',
      '10',
      int(1, 100_000),
      'Failed logins for one account (from any address) before it refuses logins for the rest of the lock window (429). Addresses the account logged in from in the last 30 days stay exempt.',
    ),
    lockSeconds: setting('AUTH_ACCOUNT_LOCK_SECONDS', '900', int(1, 86_400), ''),
  },
  mcp: {
    port: setting('MCP_PORT', '8001', port(), 'MCP endpoint (POST /messages, streamable HTTP; GET /sse, legacy).'),
    maxKeysPerUser: setting('MCP_MAX_KEYS_PER_USER', '20', int(1, 1000), 'Active (unrevoked, unexpired) keys a user may hold; one more is 409.'),
    keyCacheTtlSeconds: setting(
      'MCP_KEY_CACHE_TTL_SECONDS',
      '30',
      int(0, 3600),
      'How long a key verdict is cached per instance (a revoke through this instance takes effect at once; one elsewhere within MCP_CHANGE_POLL_MS). 0 = 1 ms, i.e. no cache.',
    ),
    changePollMs: setting(
      'MCP_CHANGE_POLL_MS',
      '1000',
      int(0, 600_000),
      'How often each instance reads keys, policies and accounts changed elsewhere (other instances, the original service) and drops the cached verdicts they touch: the bound on revoke lag. 0 = off (then the cache TTL is the bound).',
    ),
    keyCacheMaxEntries: setting('MCP_KEY_CACHE_MAX_ENTRIES', '10000', int(1, 10_000_000), 'Bound of each verification cache (valid keys; unknown keys), in entries.'),
    allowedOrigins: setting(
      'MCP_ALLOWED_ORIGINS',
      'http://localhost,http://127.0.0.1,http://[::1]',
      list(),
      "Browsers' Origin values allowed on /messages (scheme + host; any port when none is given). Requests without an Origin header (CLIs, SDKs, desktop apps) are not affected. Others get 403.",
    ),
    allowedHosts: setting(
      'MCP_ALLOWED_HOSTS',
      '',
      list().transform((hosts) => hosts.map((host) => host.toLowerCase())),
      'Host header values allowed on /messages (e.g. mcp.example.com,localhost:8001); empty = any.',
    ),
    toolSets: setting(
      'MCP_TOOL_SETS',
      'stock,tushare',
      matching(TOOL_SET_LIST, `must list tool sets from: ${TOOL_SET_NAMES.join(', ')} (comma-separated)`).transform((value) => [...new Set(splitList(value))] as ToolSetName[]),
      "Tool sets tools/list shows (and that can be called): stock (this gateway's tools) and tushare (the original service's 20 tool names).",
    ),
    authFailureLimit: setting(
      'MCP_AUTH_FAILURE_LIMIT',
      '30',
      int(1, 1_000_000),
      'Keys that fail verification, per client address per window, before that address gets 429 for any key not known to be valid (cached, or valid here in the last day): guessing then costs the database nothing, and the real users behind a shared address keep working.',
    ),
    authFailureWindowSeconds: setting('MCP_AUTH_FAILURE_WINDOW_SECONDS', '60', int(1, 86_400), ''),
    throttledHoldMs: setting(
      'MCP_THROTTLED_HOLD_MS',
      '10000',
      int(0, 60_000),
      "How long such a throttled request waits for its 429 (its connection is held, its body unread), so a flooder's sockets idle instead of sending again at once. 0 = answer at once.",
    ),
    keyLookupConcurrency: setting(
      'MCP_KEY_LOOKUP_CONCURRENCY',
      '8',
      int(1, 1000),
      'ClickHouse lookups of keys not in the cache, at once, from all clients together; 16 times as many may wait, more get 503 "busy" (bounds what strangers spread over many addresses cost).',
    ),
    callsPerKey: setting(
      'MCP_CALLS_PER_KEY',
      '16',
      int(1, 1000),
      "tools/call of one key running at once; up to 100 more wait (a full batch), beyond that -32029. One key's flood then takes at most this many of the database's query slots.",
    ),
    concurrentCallsPerUser: setting(
      'MCP_CONCURRENT_CALLS_PER_USER',
      '32',
      int(1, 10_000),
      "tools/call of one user running at once, across all their keys, OAuth tokens and both transports; one more is refused at once (-32029). Two keys' worth: a user with 20 keys holds 32 query slots, not 320.",
    ),
    legacySseMaxSessions: setting(
      'MCP_LEGACY_SSE_MAX_SESSIONS',
      '1000',
      int(0, 100_000),
      'Legacy HTTP+SSE transport (GET /sse, then POST /messages?sessionId=...) for clients that speak only the 2024-11-05 protocol: sessions open at once on one instance (0 turns it off; more get 503). Sessions live in one instance, so behind a load balancer these clients need sticky routing.',
    ),
    legacySseSessionsPerUser: setting('MCP_LEGACY_SSE_SESSIONS_PER_USER', '10', int(1, 100_000), 'Legacy SSE sessions one user holds open at once (all their keys and tokens); the next gets 429.'),
    legacySseSessionsPerAddress: setting(
      'MCP_LEGACY_SSE_SESSIONS_PER_ADDRESS',
      '20',
      int(1, 100_000),
      'Legacy SSE sessions one client address (per TRUST_PROXY) holds open at once, all accounts together (free accounts are cheap, addresses are not: a few addresses cannot fill the instance); the next gets 429.',
    ),
    legacySseIdleSeconds: setting('MCP_LEGACY_SSE_IDLE_SECONDS', '300', int(1, 86_400), 'A legacy SSE session with no message posted and no call under way for this long is closed.'),
  },
  usage: {
    spoolDir: setting(
      'USAGE_SPOOL_DIR',
      '.data/usage-spool',
      text(),
      'Each usage record is on local disk here before its tool result is sent; one gateway process per directory (a lock file enforces it). Keep it on a persistent volume.',
    ),
    spoolMaxBytes: setting(
      'USAGE_SPOOL_MAX_BYTES',
      '268435456',
      int(65_536, 1_099_511_627_776),
      'Spool cap. At the cap new tool calls are refused (JSON-RPC -32010) until ClickHouse catches up; nothing acknowledged is dropped. 256 MiB holds about 700 000 records.',
    ),
    batchSize: setting('USAGE_BATCH_SIZE', '500', int(1, 100_000), 'Records per ClickHouse insert.'),
    flushIntervalMs: setting('USAGE_FLUSH_INTERVAL_MS', '1000', int(10, 60_000), 'The longest a record waits on disk before it is shipped.'),
    retryBaseDelayMs: setting('USAGE_RETRY_BASE_DELAY_MS', '100', int(1, 600_000), 'Retries of a failed insert back off exponentially from the base (with jitter) up to the max.'),
    retryMaxDelayMs: setting('USAGE_RETRY_MAX_DELAY_MS', '30000', int(10, 600_000), ''),
    shutdownFlushTimeoutMs: setting(
      'USAGE_SHUTDOWN_FLUSH_TIMEOUT_MS',
      '5000',
      int(0, 600_000),
      'On SIGTERM, how long to keep shipping before exiting (a wait or an insert under way is cut off then); the rest ships on the next start.',
    ),
    startupFlushTimeoutMs: setting(
      'USAGE_STARTUP_FLUSH_TIMEOUT_MS',
      '30000',
      int(0, 600_000),
      'On start, how long to wait for the usage an earlier run left in the spool to ship before serving anyway (it then ships in the background; quota counters count it either way).',
    ),
    queriesPerUser: setting('USAGE_QUERIES_PER_USER', '2', int(1, 1000), 'History/stats queries one user may run at once; more get 429.'),
    historyMaxOffset: setting(
      'USAGE_HISTORY_MAX_OFFSET',
      '10000',
      int(100, 1_000_000),
      'The deepest history offset (page x page_size; deeper is 400: use start_date/end_date to reach older calls).',
    ),
  },
  metering: {
    defaultCallsPerMinute: setting('MCP_DEFAULT_CALLS_PER_MINUTE', '0', int(0, 1_000_000), 'Calls per minute of keys without their own calls_per_minute (per-key policies override the key defaults; 0 = none).'),
    keyQuotas: quotaSettings('KEY', 'Quotas of keys without their own (records returned per UTC day/month, tool calls per UTC day; 0 = none).'),
    userQuotas: quotaSettings('USER', 'Each user\'s totals over all of their keys (0 = none).'),
    refreshSeconds: setting(
      'QUOTA_REFRESH_SECONDS',
      '30',
      int(1, 3600),
      'How often quota counters re-read the usage log for what other instances (or the original service) recorded; also the window in which several instances may together over-admit.',
    ),
    redisUrl: setting(
      'METERING_REDIS_URL',
      undefined,
      optional(url(['redis', 'rediss'], 'redis://127.0.0.1:6379/0')),
      'Redis shared by every gateway for exact rate limits and quotas across instances (redis:// or rediss://). Empty: each gateway counts its own calls (docs/scaling.md states the bound).',
    ),
    redisTimeoutMs: setting('METERING_REDIS_TIMEOUT_MS', '250', int(10, 10_000), 'How long a metering command may take before that call is counted by the gateway alone.'),
  },
  marketCache: {
    maxBytes: setting(
      'MARKET_CACHE_MAX_BYTES',
      '67108864',
      int(0, 68_719_476_736),
      "In-process cache of the data tools' answers (README, \"Market data cache\"), bounded by the JSON size of their rows plus their keys and 256 bytes per entry; least recently used answers go first. 0 turns it off. Cached answers are metered exactly like fresh ones.",
    ),
    checkMs: setting(
      'MARKET_CACHE_CHECK_MS',
      '1000',
      int(50, 600_000),
      'How often the tables with cached answers are checked for changes (one system.parts query); a change shows in answers within twice this.',
    ),
  },
  oauth: {
    enabled: setting(
      'OAUTH_ENABLED',
      'true',
      bool(),
      'Sign-in from MCP clients with OAuth 2.1 (docs/oauth.md): clients such as Claude Code can sign in with the user\'s email and password instead of a pasted key. Each sign-in becomes a key "OAuth: <client>" in the user\'s key list. false: pasted sk- keys only.',
    ),
    publicApiUrl: setting(
      'PUBLIC_API_URL',
      undefined,
      publicUrl('https://stock.example.com'),
      'Public URLs named in the OAuth metadata: the REST API (the OAuth issuer) and the MCP endpoint below. Unset: the host the client used, with HTTP_PORT and MCP_PORT (right for http://host:8000 and http://host:8001). Behind a proxy or TLS, set both.',
    ),
    publicMcpUrl: setting('PUBLIC_MCP_URL', undefined, publicUrl('https://mcp.stock.example.com/messages'), ''),
    accessTokenTtlSeconds: setting('OAUTH_ACCESS_TOKEN_TTL_SECONDS', '3600', int(1, 86_400), 'Lifetime of an access token; the client refreshes it with its refresh token.'),
    grantTtlDays: setting('OAUTH_GRANT_TTL_DAYS', '90', int(1, 3650), 'Lifetime of a sign-in (its key "OAuth: <client>"); the user signs in again after it.'),
    refreshReuseGraceSeconds: setting(
      'OAUTH_REFRESH_REUSE_GRACE_SECONDS',
      '60',
      int(0, 3600),
      'A refresh token used again within this many seconds of its rotation is refused quietly (two sessions refreshing at once, a lost answer); later, the reuse means it leaked and ends the sign-in.',
    ),
    unusedClientTtlHours: setting('OAUTH_UNUSED_CLIENT_TTL_HOURS', '24', int(1, 8760), 'A registered client (anyone may register one) that no user signed in with within this many hours is deleted.'),
  },
  platform: {
    publicKey: setting(
      'MCP_JWT_PUBLIC_KEY_PATH',
      undefined,
      optional(rsaPublicKeyFile),
      'PEM file of the platform\'s RSA public key (README, "Query-pack tokens of the original"). Set: the RS256 tokens it issues for query packs are accepted beside sk- keys, their pack enforced exactly. Empty: such tokens get 401. A set path that holds no RSA public key stops the start.',
    ),
    reportKey: setting(
      'MCP_USAGE_REPORT_KEY',
      undefined,
      optional(atLeastChars(16)),
      "Key (16+ characters) the platform reads GET /usage/summary on the MCP port with, as X-Report-Key or a bearer; the original's value can be copied over. Empty: /usage/summary is 404.",
    ),
  },
  metrics: {
    token: setting(
      'METRICS_TOKEN',
      undefined,
      optional(atLeastChars(16)),
      "Bearer token a Prometheus server scrapes GET /metrics (on HTTP_PORT) with: 16+ characters (e.g. openssl rand -hex 32). Compared in constant time. Empty: only administrators' login JWTs may read /metrics.",
    ),
  },
};
