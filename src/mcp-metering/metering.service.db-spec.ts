import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../common/clock.js';
import { loadAppConfig } from '../config/app-config.js';
import { UNRESTRICTED_POLICY } from '../mcp-keys/key-policy.js';
import { UsageWriter } from '../mcp-usage/usage-writer.js';
import { type AdoptedServices, adoptedServices } from '../../test/support/services.js';
import { usageRecordFixture } from '../../test/support/usage-record.js';
import { MeteringService } from './metering.service.js';
import { QuotaExhaustedError } from './quota-exhausted.error.js';
import { RateLimitedError } from './rate-limited.error.js';
import { UsageCountsRepository } from './usage-counts.repository.js';

describe(MeteringService.name, () => {
  let services: AdoptedServices;
  let spoolDir: string;

  beforeAll(async () => {
    services = await adoptedServices('metering');
    spoolDir = mkdtempSync(join(tmpdir(), 'metering-spec-'));
  });

  afterAll(async () => {
    await services.close();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  /** A metering service that holds the counts of at most `users` users at once. */
  function metering(users: number): MeteringService {
    const config = loadAppConfig({ CLICKHOUSE_URL: services.config.clickhouse.urls.join(','), CLICKHOUSE_DATABASE: services.database, USAGE_SPOOL_DIR: spoolDir, MCP_KEY_CACHE_MAX_ENTRIES: String(users) });
    const service = new MeteringService(new UsageCountsRepository(services.clickhouse), new UsageWriter(services.usage, config), systemClock, config);
    service.onModuleDestroy();
    return service;
  }

  const keyOf = (userId: string, recordsPerDay: number) => ({ keyId: `${userId}-key`, userId, policy: { ...UNRESTRICTED_POLICY, recordsPerDay } });

  it("should read a user's counts again when they were pushed out of the held users, never judge on partial counts", async () => {
    const now = Math.floor(Date.now() / 1000);
    await services.usage.insert([
      usageRecordFixture({ user_id: 'held-1', api_key_id: 'held-1-key', record_count: 100, created_at: now }),
      usageRecordFixture({ user_id: 'held-2', api_key_id: 'held-2-key', record_count: 5, created_at: now }),
    ]);
    const service = metering(1);
    await service.countKeyUser(keyOf('held-1', 100));
    // Holding one user at most, counting the second forgets the first.
    await service.countKeyUser(keyOf('held-2', 100));

    await expect(service.admitCall(keyOf('held-1', 100), 50)).rejects.toThrow(QuotaExhaustedError);
    const admitted = await service.admitCall(keyOf('held-2', 100), 500);
    expect(admitted.maxRows).toBe(95);
    admitted.end();
  });

  it('should read the counts of a user not held before judging the call', async () => {
    const service = metering(10);
    await services.usage.insert([usageRecordFixture({ user_id: 'never-counted', api_key_id: 'never-counted-key', record_count: 1, created_at: Math.floor(Date.now() / 1000) })]);
    const refusal = await service.admitCall(keyOf('never-counted', 1), 10).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(QuotaExhaustedError);
    expect((refusal as QuotaExhaustedError).state).toMatchObject({ quota: 'records_per_day', used: 1, limit: 1, remaining: 0 });
  });

  it('should admit once, hold what the call may return until it is settled, and report the quotas after it from that decision', async () => {
    const service = metering(10);
    const key = { keyId: 'once-key', userId: 'once', policy: { ...UNRESTRICTED_POLICY, recordsPerDay: 30, callsPerDay: 5 } };
    const first = await service.admitCall(key, 20);
    expect(first.maxRows).toBe(20);
    // The 10 records the first call does not hold are what a second call may return.
    const second = await service.admitCall(key, 20);
    expect(second.maxRows).toBe(10);
    second.end();
    const record = usageRecordFixture({ user_id: 'once', api_key_id: 'once-key', record_count: 12, created_at: Math.floor(Date.now() / 1000) });
    service.spooled(record);
    first.settle(record);
    // Settled: its hold is back, the 12 records it returned count.
    const third = await service.admitCall(key, 20);
    expect(third.maxRows).toBe(18);
    expect(first.quotasAfter(12)).toEqual([
      expect.objectContaining({ quota: 'records_per_day', scope: 'key', limit: 30, used: 12, remaining: 18 }),
      expect.objectContaining({ quota: 'calls_per_day', scope: 'key', limit: 5, used: 1, remaining: 4 }),
    ]);
    expect(third.quotasAfter(0)).toEqual([expect.objectContaining({ quota: 'records_per_day', used: 12 }), expect.objectContaining({ quota: 'calls_per_day', used: 2 })]);
    third.end();
  });

  it('should refuse a call over its key\'s calls per minute with the seconds until one is admitted', async () => {
    const service = metering(10);
    const key = { keyId: 'rate-key', userId: 'rate', policy: { ...UNRESTRICTED_POLICY, callsPerMinute: 2 } };
    (await service.admitCall(key, 10)).end();
    (await service.admitCall(key, 10)).end();
    const refusal = await service.admitCall(key, 10).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RateLimitedError);
    expect((refusal as RateLimitedError).data).toEqual({ calls_per_minute: 2, retry_after_seconds: expect.any(Number) });
    expect((refusal as RateLimitedError).retryAfterSeconds).toBeGreaterThanOrEqual(60);
  });

  it("should judge a pack on every record of its user, all time, also when the user's counts were read without it", async () => {
    const now = Math.floor(Date.now() / 1000);
    await services.usage.insert([
      usageRecordFixture({ user_id: 'buyer', api_key_id: '', record_count: 40, created_at: Math.floor(Date.UTC(2024, 5, 1) / 1000) }),
      usageRecordFixture({ user_id: 'buyer', api_key_id: 'jwt-old', record_count: 15, created_at: now }),
    ]);
    const service = metering(10);
    const withoutPack = { keyId: 'jwt-subscription', userId: 'buyer', policy: { ...UNRESTRICTED_POLICY, recordsPerDay: 1000 } };
    const withPack = { keyId: 'jwt-new', userId: 'buyer', policy: UNRESTRICTED_POLICY, packRecords: 60 };
    // This month's counts only: not enough to judge the pack on.
    await service.countKeyUser(withoutPack);
    expect(service.needsCounts(withPack)).toBe(true);

    const admitted = await service.admitCall(withPack, 50);
    expect(admitted.maxRows).toBe(5);
    admitted.end();
    expect(admitted.quotasAfter(0)).toEqual([{ quota: 'pack_records', scope: 'user', limit: 60, used: 55, remaining: 5, period: 'all', resets_at: null }]);
    expect(service.needsCounts(withPack)).toBe(false);
  });
});
