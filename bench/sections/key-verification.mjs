// Cost of ApiKeyVerifier.verify(): a cached key (the hot path) and cache misses (ClickHouse lookups).
import { randomBytes } from 'node:crypto';
import { appClickHouse, importDist } from '../lib/dist.mjs';
import { table } from '../lib/markdown.mjs';
import { formatInt, formatNumber, microseconds, summarize, timeEach } from '../lib/stats.mjs';

const CACHED_ITERATIONS = 100_000;
const UNCACHED_ITERATIONS = 200;
/** Keys added to mcp_api_keys (rows of other users) before the uncached lookups are timed. */
const STORED_KEYS = 200_000;

const toMicroseconds = (sample) => ({ n: sample.n, p50: sample.p50 * 1000, p99: sample.p99 * 1000, mean: sample.mean * 1000 });

async function loadVerifierParts(distDir) {
  const [{ ApiKeyVerifier }, { ApiKeysRepository }, { ApiKeyPoliciesRepository }, { AuthService }, { UsersRepository }, { hashApiKey }, { SchemaService }, { MetricsRegistry }, { KeyCacheMetrics }] = await Promise.all([
    importDist(distDir, 'mcp-keys/api-key-verifier.js'),
    importDist(distDir, 'mcp-keys/api-keys.repository.js'),
    importDist(distDir, 'mcp-keys/api-key-policies.repository.js'),
    importDist(distDir, 'auth/auth.service.js'),
    importDist(distDir, 'auth/users.repository.js'),
    importDist(distDir, 'mcp-keys/api-key.js'),
    importDist(distDir, 'clickhouse/schema/schema.service.js'),
    importDist(distDir, 'metrics/metrics-registry.js'),
    importDist(distDir, 'mcp-keys/key-cache.metrics.js'),
  ]);
  return { ApiKeyVerifier, ApiKeysRepository, ApiKeyPoliciesRepository, AuthService, UsersRepository, hashApiKey, SchemaService, MetricsRegistry, KeyCacheMetrics };
}

/**
 * Wires a verifier as Nest does, on the tables the gateway created (adopting them tells the
 * repositories their columns); verify() only needs AuthService.activeUser, so the rest is left out.
 */
async function verifierFactory(parts, clickhouse, config) {
  const schema = new parts.SchemaService(clickhouse);
  const keys = new parts.ApiKeysRepository(clickhouse, schema);
  const policies = new parts.ApiKeyPoliciesRepository(clickhouse, schema);
  const users = new parts.UsersRepository(clickhouse, schema);
  await schema.adoptAll();
  const auth = new parts.AuthService(users, undefined, undefined, undefined, undefined, config);
  // One set of counters for all, as the app has: the uncached figure times a fresh verifier per call.
  const metrics = new parts.KeyCacheMetrics(new parts.MetricsRegistry());
  return () => new parts.ApiKeyVerifier(keys, policies, auth, config, metrics, clickhouse);
}

/** Other users' keys, as mcp_api_keys rows written server-side; the view copies them into the hash index. */
async function storeOtherKeys(client) {
  await client.command({
    query: `INSERT INTO mcp_api_keys (id, user_id, key_name, api_key_hash, api_key_prefix, is_active, created_at, updated_at)
      SELECT concat('bench-key-', toString(number)), concat('bench-owner-', toString(number % 5000)), 'bench',
        lower(hex(SHA256(concat('sk-bench-', toString(number))))), 'sk-bench...', 1, now(), now()
      FROM system.numbers LIMIT ${STORED_KEYS}`,
  });
}

async function assertVerifies(verifier, apiKey) {
  if (!(await verifier.verify(apiKey))) throw new Error('the bench key does not verify');
}

export async function measureKeyVerification(ctx) {
  const { config, clickhouse, sql, str } = await appClickHouse(ctx.distDir, ctx.clickhouse.url, ctx.clickhouse.database);
  try {
    const parts = await loadVerifierParts(ctx.distDir);
    await storeOtherKeys(ctx.clickhouse.client);
    const newVerifier = await verifierFactory(parts, clickhouse, config);
    const { apiKey } = ctx.users.load;
    const cachedVerifier = newVerifier();
    await assertVerifies(cachedVerifier, apiKey);
    await microseconds(10_000, () => cachedVerifier.verify(apiKey)); // JIT warm-up
    const unknownKeys = Array.from({ length: UNCACHED_ITERATIONS + 10 }, () => `sk-${randomBytes(32).toString('hex')}`);
    const unknownVerifier = newVerifier();
    await timeEach(10, (i) => unknownVerifier.verify(unknownKeys[UNCACHED_ITERATIONS + i]));
    return {
      cached: await microseconds(CACHED_ITERATIONS, () => cachedVerifier.verify(apiKey)),
      hashOnly: await microseconds(CACHED_ITERATIONS, () => parts.hashApiKey(apiKey)),
      uncachedValid: toMicroseconds(summarize(await timeEach(UNCACHED_ITERATIONS, () => assertVerifies(newVerifier(), apiKey)))),
      uncachedUnknown: toMicroseconds(summarize(await timeEach(UNCACHED_ITERATIONS, (i) => unknownVerifier.verify(unknownKeys[i])))),
      clickhouseFloor: toMicroseconds(summarize(await timeEach(UNCACHED_ITERATIONS, () => clickhouse.query(sql`SELECT 1`)))),
      // The lookup the hash index replaced: mcp_api_keys is sorted by (user_id, id), so a hash reads every row.
      scanByHash: toMicroseconds(
        summarize(await timeEach(UNCACHED_ITERATIONS, (i) => clickhouse.query(sql`SELECT id FROM mcp_api_keys FINAL WHERE api_key_hash = ${str(parts.hashApiKey(unknownKeys[i]))}`))),
      ),
      storedKeys: STORED_KEYS,
      cacheTtlSeconds: config.mcp.keyCacheTtlSeconds,
    };
  } finally {
    await clickhouse.onApplicationShutdown();
  }
}

const row = (label, sample, note) => [label, formatNumber(sample.p50), formatNumber(sample.p99), formatNumber(sample.mean), formatInt(sample.n), note];

export function renderKeyVerification(data) {
  return [
    '`ApiKeyVerifier.verify()` from the bench\'s build of src/, called in a sequential loop in the bench process (so no HTTP in the figures), against the same ClickHouse, ' +
      `with ${formatInt(data.storedKeys)} other keys in \`mcp_api_keys\`.`,
    table(
      ['case', 'p50 µs', 'p99 µs', 'mean µs', 'calls', 'what it does'],
      [
        row('cached key (hot path)', data.cached, `format check, SHA-256, LRU hit, expiry check; entries live ${data.cacheTtlSeconds} s`),
        row('  of which SHA-256 of the key', data.hashOnly, '`hashApiKey` alone'),
        row('uncached, valid key', data.uncachedValid, 'fresh verifier: hash index lookup, then user (FINAL) and policy lookups together'),
        row('uncached, unknown key', data.uncachedUnknown, 'well-formed random key: 1 primary-key read of the hash index, then cached as invalid'),
        row('  the scan the index replaced', data.scanByHash, '`mcp_api_keys FINAL WHERE api_key_hash = …`: reads every key'),
        row('ClickHouse round-trip floor', data.clickhouseFloor, '`SELECT 1` through ClickHouseService'),
      ],
      ['l', 'r', 'r', 'r', 'r', 'l'],
    ),
  ].join('\n\n');
}

export const keyVerification = {
  title: 'API key verification cost',
  measure: measureKeyVerification,
  render: renderKeyVerification,
};
