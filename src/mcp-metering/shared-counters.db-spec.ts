import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasRedisServer, startRedis } from '../../scripts/lib/local-redis.mjs';
import { type SharedAdmission, SharedCounters, type SharedRule } from './shared-counters.js';
import { pollUntil } from '../../scripts/lib/poll.mjs';
import { Redis } from 'ioredis';

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
