// Cost of ApiKeyVerifier.verify(): a cached key (the hot path) and cache misses (ClickHouse lookups).
import { randomBytes } from 'node:crypto';
import { appClickHouse, importDist } from '../lib/dist.mjs';
import { table } from '../lib/markdown.mjs';
import { formatInt, formatNumber, summarize, timeEach } from '../lib/stats.mjs';

const CACHED_ITERATIONS = 100_000;
const UNCACHED_ITERATIONS = 200;

/** Per-operation timings in µs from a tight loop (hrtime resolution, ~50 ns overhead per sample). */
async function microseconds(iterations, fn) {
  const values = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const started = process.hrtime.bigint();
    await fn(i);
    values[i] = Number(process.hrtime.bigint() - started) / 1000;
  }
  return summarize(values);
}

const toMicroseconds = (sample) => ({ n: sample.n, p50: sample.p50 * 1000, p99: sample.p99 * 1000, mean: sample.mean * 1000 });

async function loadVerifierParts(distDir) {
  const [{ ApiKeyVerifier }, { ApiKeysRepository }, { AuthService }, { UsersRepository }, { hashApiKey }] = await Promise.all([
    importDist(distDir, 'mcp-keys/api-key-verifier.js'),
    importDist(distDir, 'mcp-keys/api-keys.repository.js'),
    importDist(distDir, 'auth/auth.service.js'),
    importDist(distDir, 'auth/users.repository.js'),
    importDist(distDir, 'mcp-keys/api-key.js'),
  ]);
  return { ApiKeyVerifier, ApiKeysRepository, AuthService, UsersRepository, hashApiKey };
}

/** Wires a verifier as Nest does; verify() only needs AuthService.activeUser, so hasher and JWT are left out. */
function verifierFactory(parts, clickhouse, config) {
  const keys = new parts.ApiKeysRepository(clickhouse);
  const auth = new parts.AuthService(new parts.UsersRepository(clickhouse), undefined, undefined, config);
  return () => new parts.ApiKeyVerifier(keys, auth, config);
}

async function assertVerifies(verifier, apiKey) {
  if (!(await verifier.verify(apiKey))) throw new Error('the bench key does not verify');
}

export async function measureKeyVerification(ctx) {
  const { config, clickhouse, sql } = await appClickHouse(ctx.distDir, ctx.clickhouse.url, ctx.clickhouse.database);
  try {
    const parts = await loadVerifierParts(ctx.distDir);
    const newVerifier = verifierFactory(parts, clickhouse, config);
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
      cacheTtlSeconds: config.mcp.keyCacheTtlSeconds,
    };
  } finally {
    await clickhouse.onApplicationShutdown();
  }
}

const row = (label, sample, note) => [label, formatNumber(sample.p50), formatNumber(sample.p99), formatNumber(sample.mean), formatInt(sample.n), note];

export function renderKeyVerification(data) {
  return [
    '`ApiKeyVerifier.verify()` from the bench\'s build of src/, called in a sequential loop in the bench process (so no HTTP in the figures), against the same ClickHouse.',
    table(
      ['case', 'p50 µs', 'p99 µs', 'mean µs', 'calls', 'what it does'],
      [
        row('cached key (hot path)', data.cached, `format check, SHA-256, LRU hit, expiry check; entries live ${data.cacheTtlSeconds} s`),
        row('  of which SHA-256 of the key', data.hashOnly, '`hashApiKey` alone'),
        row('uncached, valid key', data.uncachedValid, 'fresh verifier: key lookup (FINAL + join) then user lookup (FINAL), 2 queries in series'),
        row('uncached, unknown key', data.uncachedUnknown, 'well-formed random key: 1 query, then cached as invalid'),
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
