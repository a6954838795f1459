import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasRedisServer, startRedis } from '../../scripts/lib/local-redis.mjs';
import { type SharedAdmission, SharedCounters, type SharedRule } from './shared-counters.js';
import { pollUntil } from '../../scripts/lib/poll.mjs';
import { Redis } from 'ioredis';
import { RateLimiter } from './rate-limiter.js';

const describeWithRedis = hasRedisServer() ? describe : describe.skip;
const DAY_END = Date.now() + 86_400_000;

describeWithRedis('SharedCounters (a real Redis)', () => {
  let dir: string;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let counters: SharedCounters;
  let prefix = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-counters-'));
    redis = await startRedis({ dir });
  });

  beforeEach(async () => {
    // Holds of a gateway that died last 300 ms here, not a minute.
    counters = new SharedCounters(redis.url, `test${++prefix}:`, 1000, 300);
    await counters.connect();
  });

  afterEach(() => counters.close());

  afterAll(async () => {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A call of key `keyId` against `rules`, the tool wanting `wanted` records, under no rate limit unless given. */
  const call = (rules: SharedRule[], wanted: number, callsPerMinute = 0, keyId = 'k'): SharedAdmission => ({ keyId, callsPerMinute, rules, wantedRecords: wanted });

  it('refuses the call past the rate limit with the seconds until the oldest leaves the minute, in the same script as the quotas', async () => {
    const first = [await counters.admit(call([], 0, 2)), await counters.admit(call([], 0, 2))];
    expect(first).toMatchObject([{ grant: { records: Number.POSITIVE_INFINITY, used: [] } }, { grant: { records: Number.POSITIVE_INFINITY, used: [] } }]);
    const refused = await counters.admit(call([], 0, 2));
    if (!('rateLimited' in refused)) throw new Error(`expected a rate refusal, got ${JSON.stringify(refused)}`);
    expect(refused.rateLimited.retryAfterSeconds).toBeGreaterThanOrEqual(60);
    expect(refused.rateLimited.retryAfterSeconds).toBeLessThanOrEqual(61);
    // Another key has its own window.
    expect(await counters.admit(call([], 0, 2, 'other'))).toMatchObject({ grant: { records: Number.POSITIVE_INFINITY } });
  });

  it('counts the rate only once a call gets past the seeds', async () => {
    const rules: SharedRule[] = [{ cell: 'd|key|seeded-late', metric: 'calls', limit: 10 }];
    expect(await counters.admit(call(rules, 0, 1, 'seeded-late'))).toEqual({ seed: true });
    await counters.seed([{ cell: 'd|key|seeded-late', calls: 0, records: 0, expiresAtMs: DAY_END }]);
    // The look that asked for the seed counted nothing: the one call of the minute is still free.
    expect(await counters.admit(call(rules, 0, 1, 'seeded-late'))).toMatchObject({ grant: { used: [0] } });
    expect(await counters.admit(call(rules, 0, 1, 'seeded-late'))).toMatchObject({ rateLimited: {} });
  });

  it('asks for a seed first, then grants what is left of a record quota and holds it until settled', async () => {
    const rules: SharedRule[] = [
      { cell: 'd|key|k', metric: 'records', limit: 10 },
      { cell: 'd|key|k', metric: 'calls', limit: 100 },
    ];
    expect(await counters.admit(call(rules, 5))).toEqual({ seed: true });
    await counters.seed([{ cell: 'd|key|k', calls: 2, records: 7, expiresAtMs: DAY_END }]);
    // A second seed (another gateway's, later) does not overwrite the count.
    await counters.seed([{ cell: 'd|key|k', calls: 0, records: 0, expiresAtMs: DAY_END }]);
    const first = await counters.admit(call(rules, 5));
    if (!('grant' in first)) throw new Error(`expected a grant, got ${JSON.stringify(first)}`);
    expect(first.grant.records).toBe(3);
    expect(first.grant.used).toEqual([7, 2]);
    // The 3 left are held by the call under way: the next one waits.
    expect(await counters.admit(call(rules, 5))).toEqual({ wait: true });
    // Counted and released in one script: the next call finds the quota used up, not waiting.
    await counters.settle(['d|key|k', 'd|user|u'], { calls: 1, records: 3 }, first.grant.hold);
    expect(await counters.admit(call(rules, 5))).toEqual({ exhausted: { rule: 0, used: 10 } });
    expect(await counters.usage(['d|key|k', 'd|key|unknown', 'd|user|u'])).toEqual([{ calls: 3, records: 10 }, undefined, undefined]);
  });

  it('lets a hold of a gateway that died lapse, so the quota it held is free again', async () => {
    const rules: SharedRule[] = [{ cell: 'd|user|u', metric: 'calls', limit: 1 }];
    await counters.seed([{ cell: 'd|user|u', calls: 0, records: 0, expiresAtMs: DAY_END }]);
    expect(await counters.admit(call(rules, 0))).toMatchObject({ grant: { records: Number.POSITIVE_INFINITY } });
    expect(await counters.admit(call(rules, 0))).toEqual({ wait: true });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await counters.admit(call(rules, 0))).toMatchObject({ grant: { records: Number.POSITIVE_INFINITY } });
  });

  it('gives back the hold of an admission that timed out here but ran in Redis later', async () => {
    const impatient = new SharedCounters(redis.url, `test${++prefix}:`, 100, 60_000);
    await impatient.connect();
    try {
      const rules: SharedRule[] = [{ cell: 'd|key|slow', metric: 'calls', limit: 1 }];
      await impatient.seed([{ cell: 'd|key|slow', calls: 0, records: 0, expiresAtMs: DAY_END }]);
      // Redis stops for 300 ms: the admission times out here, then runs there, then its release.
      redis.child.kill('SIGSTOP');
      const timedOut = impatient.admit(call(rules, 0));
      await new Promise((resolve) => setTimeout(resolve, 300));
      redis.child.kill('SIGCONT');
      await expect(timedOut).rejects.toThrow(/timed out/);
      // Not waiting for a hold nobody would give back: the one call of the quota is free.
      const next = await pollUntil(() => impatient.admit(call(rules, 0)), (verdict) => !('wait' in verdict), { timeoutMs: 2000, intervalMs: 50 });
      expect(next).toMatchObject({ grant: { records: Number.POSITIVE_INFINITY } });
    } finally {
      redis.child.kill('SIGCONT');
      impatient.close();
    }
  });

  it('sends a release Redis did not take, once it is connected again', async () => {
    const patient = new SharedCounters(redis.url, `test${++prefix}:`, 1000, 60_000);
    const admin = new Redis(redis.url);
    await patient.connect();
    try {
      const rules: SharedRule[] = [{ cell: 'd|key|cut', metric: 'calls', limit: 1 }];
      await patient.seed([{ cell: 'd|key|cut', calls: 0, records: 0, expiresAtMs: DAY_END }]);
      const first = await patient.admit(call(rules, 0));
      if (!('grant' in first)) throw new Error(`expected a grant, got ${JSON.stringify(first)}`);
      // The connection is cut before the call ends: its release cannot be sent now.
      await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      await pollUntil(() => patient.ready, (ready) => !ready, { timeoutMs: 5000, intervalMs: 5 });
      await patient.release(first.grant.hold);
      await pollUntil(() => patient.ready, (ready) => ready, { timeoutMs: 5000, intervalMs: 20 });
      // Sent after the reconnection: the quota is free again, not held for a minute.
      const next = await pollUntil(() => patient.admit(call(rules, 0)), (verdict) => !('wait' in verdict), { timeoutMs: 2000, intervalMs: 50 });
      expect(next).toMatchObject({ grant: { records: Number.POSITIVE_INFINITY } });
    } finally {
      admin.disconnect();
      patient.close();
    }
  });

  it('loads its scripts again when Redis lost them, without sending any out of order', async () => {
    const admin = new Redis(redis.url);
    try {
      await admin.script('FLUSH');
      await expect(counters.admit(call([], 0, 5, 'flushed'))).rejects.toThrow(/NOSCRIPT/);
      await pollUntil(() => counters.ready, (ready) => ready, { timeoutMs: 2000, intervalMs: 20 });
      expect(await counters.admit(call([], 0, 5, 'flushed'))).toMatchObject({ grant: { records: Number.POSITIVE_INFINITY } });
    } finally {
      admin.disconnect();
    }
  });

  /** Runs `test` with a SharedCounters on the current test's prefix whose holds last `holdLifetimeMs`: another gateway on the same Redis. */
  async function withGateway(holdLifetimeMs: number, test: (gateway: SharedCounters) => Promise<void>): Promise<void> {
    const gateway = new SharedCounters(redis.url, `test${prefix}:`, 1000, holdLifetimeMs);
    await gateway.connect();
    try {
      await test(gateway);
    } finally {
      gateway.close();
    }
  }

  it('counts a lapsed hold out of the held totals while the others stay held', async () => {
    // The default `counters` give up holds after 300 ms (a gateway that died); `live` keeps them a minute.
    await withGateway(60_000, async (live) => {
      const rules: SharedRule[] = [
        { cell: 'd|user|lapse', metric: 'records', limit: 10 },
        { cell: 'd|user|lapse', metric: 'calls', limit: 2 },
      ];
      await counters.seed([{ cell: 'd|user|lapse', calls: 0, records: 0, expiresAtMs: DAY_END }]);
      expect(await counters.admit(call(rules, 4))).toMatchObject({ grant: { records: 4 } });
      expect(await live.admit(call(rules, 4))).toMatchObject({ grant: { records: 4 } });
      // Both calls are held: none left.
      expect(await live.admit(call(rules, 10))).toEqual({ wait: true });
      // Once the first hold lapses, one call and the 6 records the second does not hold are free.
      const next = await pollUntil(() => live.admit(call(rules, 10)), (verdict) => !('wait' in verdict), { timeoutMs: 5000, intervalMs: 50 });
      expect(next).toMatchObject({ grant: { records: 6, used: [0, 0] } });
      expect(await live.admit(call(rules, 10))).toEqual({ wait: true });
    });
  });

  it('gives a hold back on every cell it holds, whether it holds records or not', async () => {
    const rules: SharedRule[] = [
      { cell: 'd|key|both', metric: 'calls', limit: 1 },
      { cell: 'd|user|both', metric: 'calls', limit: 1 },
    ];
    await counters.seed(['d|key|both', 'd|user|both'].map((cell) => ({ cell, calls: 0, records: 0, expiresAtMs: DAY_END })));
    for (const wanted of [0, 3]) {
      const first = await counters.admit(call(rules, wanted));
      if (!('grant' in first)) throw new Error(`expected a grant, got ${JSON.stringify(first)}`);
      expect(await counters.admit(call(rules, wanted))).toEqual({ wait: true });
      await counters.release(first.grant.hold);
      const next = await counters.admit(call(rules, wanted));
      expect(next).toMatchObject({ grant: { used: [0, 0] } });
      if ('grant' in next) await counters.release(next.grant.hold);
    }
  });

  it('keeps the records held exact through a release and a settlement', async () => {
    await withGateway(60_000, async (live) => {
      const rules: SharedRule[] = [{ cell: 'd|user|held', metric: 'records', limit: 10 }];
      await live.seed([{ cell: 'd|user|held', calls: 0, records: 0, expiresAtMs: DAY_END }]);
      const calls = [await live.admit(call(rules, 3)), await live.admit(call(rules, 3)), await live.admit(call(rules, 3))];
      const [first, second] = calls.map((verdict) => {
        if (!('grant' in verdict) || verdict.grant.records !== 3) throw new Error(`expected grants of 3, got ${JSON.stringify(calls)}`);
        return verdict.grant.hold;
      });
      await live.release(first);
      // The second call returned 2 of the 3 records it held; the third still holds 3.
      await live.settle(['d|user|held'], { calls: 1, records: 2 }, second);
      expect(await live.admit(call(rules, 10))).toMatchObject({ grant: { records: 5, used: [2] } });
    });
  });

  describe("the rate window's running total", () => {
    let admin: Redis;

    beforeAll(() => {
      admin = new Redis(redis.url);
    });

    afterAll(() => admin.disconnect());

    /** The Redis clock (what the scripts count by), once a second has just begun: a test's few commands then run within it. */
    async function freshSecond(): Promise<{ second: number; nowMs: number }> {
      const time = async () => {
        const [seconds, micros] = (await admin.call('TIME')) as [string, string];
        return { second: Number(seconds), nowMs: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) };
      };
      const now = await pollUntil(time, (clock) => clock.nowMs % 1000 < 500, { timeoutMs: 2000, intervalMs: 20 });
      expect(now.nowMs % 1000).toBeLessThan(500);
      return now;
    }

    /**
     * Leaves key `keyId`'s window with `calls` (seconds before now: calls then) in its buckets; with `droppedAt` (seconds before now) as
     * this version leaves it, the buckets that had left the window dropped then and the rest summed; without, as the previous version
     * left it (buckets only). Returns the same calls counted by RateLimiter, the rule both follow.
     */
    async function pastCalls(keyId: string, second: number, calls: Record<number, number>, droppedAt?: number): Promise<RateLimiter> {
      const reference = new RateLimiter(10);
      const buckets = Object.entries(calls).map(([ago, count]) => [second - Number(ago), count] as const);
      for (const [at, count] of buckets.sort(([a], [b]) => a - b)) for (let n = 0; n < count; n++) reference.take(keyId, Number.POSITIVE_INFINITY, at * 1000);
      const key = `test${prefix}:rate:${keyId}`;
      await admin.hset(key, Object.fromEntries(buckets));
      if (droppedAt !== undefined) await admin.hset(key, { 0: buckets.reduce((sum, [, count]) => sum + count, 0), 1: second - droppedAt });
      return reference;
    }

    /** `times` calls of key `keyId` under `limit` per minute now, by Redis and by `reference`: 0 each admitted one, else the seconds to wait. */
    async function admitBoth(keyId: string, limit: number, times: number, reference: RateLimiter, nowMs: number) {
      const redisSays: number[] = [];
      const referenceSays: number[] = [];
      for (let n = 0; n < times; n++) {
        const verdict = await counters.admit(call([], 0, limit, keyId));
        redisSays.push('rateLimited' in verdict ? verdict.rateLimited.retryAfterSeconds : 0);
        referenceSays.push(reference.take(keyId, limit, nowMs));
      }
      return { redisSays, referenceSays };
    }

    it('drops the seconds that left the window since its last call from the total, and says when to retry as before', async () => {
      const { second, nowMs } = await freshSecond();
      // Dropped 30 s ago: 85 s and 61 s ago left the window since; 50, 40 and 39 s ago (6 calls) are in it.
      const reference = await pastCalls('since', second, { 85: 4, 61: 2, 50: 2, 40: 3, 39: 1 }, 30);
      const { redisSays, referenceSays } = await admitBoth('since', 8, 3, reference, nowMs);
      // The third finds 8 calls: one more fits once the 2 of 50 s ago leave, in 11 s.
      expect(redisSays).toEqual([0, 0, 11]);
      expect(redisSays).toEqual(referenceSays);
    });

    it('finds the window empty after more than a minute without calls', async () => {
      const { second, nowMs } = await freshSecond();
      const reference = await pastCalls('idle', second, { 150: 3, 101: 2 }, 100);
      const { redisSays, referenceSays } = await admitBoth('idle', 2, 3, reference, nowMs);
      expect(redisSays).toEqual([0, 0, 61]);
      expect(redisSays).toEqual(referenceSays);
    });

    it('counts the buckets again after a gateway of the previous version deleted the total, with its call', async () => {
      const { second, nowMs } = await freshSecond();
      const reference = await pastCalls('upgrade', second, { 70: 5, 30: 2 });
      const first = await admitBoth('upgrade', 4, 1, reference, nowMs);
      // The previous version counts a call in this second's bucket and deletes what it takes for past buckets.
      const key = `test${prefix}:rate:upgrade`;
      await admin.hincrby(key, String(second), 1);
      await admin.hdel(key, '0', '1');
      reference.take('upgrade', Number.POSITIVE_INFINITY, nowMs);
      const then = await admitBoth('upgrade', 4, 1, reference, nowMs);
      // 2 calls of 30 s ago, this one and the other gateway's: full until those 2 leave, in 31 s.
      expect([...first.redisSays, ...then.redisSays]).toEqual([0, 31]);
      expect([...first.referenceSays, ...then.referenceSays]).toEqual([0, 31]);
    });
  });

  it('raises a counter to what ClickHouse counts only where it counts more', async () => {
    await counters.seed([{ cell: 'm|key|k', calls: 5, records: 50, expiresAtMs: DAY_END }]);
    await counters.raise([
      { cell: 'm|key|k', calls: 4, records: 60 },
      { cell: 'm|key|never-seeded', calls: 9, records: 9 },
    ]);
    expect(await counters.usage(['m|key|k', 'm|key|never-seeded'])).toEqual([{ calls: 5, records: 60 }, undefined]);
  });

  it('is not ready, and fails fast, while Redis does not answer', async () => {
    const unreachable = new SharedCounters('redis://127.0.0.1:1/0', 'x:', 100, 60_000);
    await unreachable.connect();
    expect(unreachable.ready).toBe(false);
    await expect(unreachable.admit(call([], 0, 1))).rejects.toThrow();
    unreachable.close();
  });
});
