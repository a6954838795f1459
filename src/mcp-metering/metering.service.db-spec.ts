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

    await expect(service.admit(keyOf('held-1', 100), 50)).rejects.toThrow(QuotaExhaustedError);
    const admission = await service.admit(keyOf('held-2', 100), 500);
    expect(admission.maxRows).toBe(95);
    admission.release();
  });

  it('should leave the door check to admit() for a user whose counts are not held', async () => {
    const service = metering(10);
    expect(await service.exhaustedQuota(keyOf('never-counted', 1), true)).toBeUndefined();
    await services.usage.insert([usageRecordFixture({ user_id: 'never-counted', api_key_id: 'never-counted-key', record_count: 1, created_at: Math.floor(Date.now() / 1000) })]);
    await expect(service.admit(keyOf('never-counted', 1), 10)).rejects.toThrow(QuotaExhaustedError);
    expect(await service.exhaustedQuota(keyOf('never-counted', 1), true)).toMatchObject({ quota: 'records_per_day', used: 1, limit: 1 });
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

    const admission = await service.admit(withPack, 50);
    expect(admission.maxRows).toBe(5);
    admission.release();
    expect(await service.quotaStates(withPack)).toEqual([{ quota: 'pack_records', scope: 'user', limit: 60, used: 55, remaining: 5, period: 'all', resets_at: null }]);
    expect(service.needsCounts(withPack)).toBe(false);
  });
});
