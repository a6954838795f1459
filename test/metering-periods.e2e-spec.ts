import { resolve } from 'node:path';
import { createApiKey, rawRpc } from './support/mcp.js';
import { type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';

const CLOCK_APP = resolve(import.meta.dirname, 'support/clock-app.mjs');

/** Moves the app's clock (test/support/clock-app.mjs) and waits until it took the new time. */
function setClock(app: TestApp, iso: string): Promise<void> {
  return new Promise((resolveSet) => {
    app.process.once('message', () => resolveSet());
    app.process.send({ setClock: iso });
  });
}

const latestBars = (id: number, n: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'get_latest_bars', arguments: { ts_codes: ['000001.SZ', '000002.SZ', '000063.SZ', '000333.SZ', '000568.SZ', '000651.SZ', '000725.SZ', '000858.SZ', '002415.SZ', '002475.SZ'].slice(0, n) } },
});

describe('Quota periods follow the clock: a day quota resets at 00:00 UTC, a month quota on the 1st (injected clock)', () => {
  let app: TestApp;
  let apiKey: string;
  const clock = { set: (iso: string) => setClock(app, iso) };
  const call = (id: number, n: number) => rawRpc(app, latestBars(id, n), apiKey);

  beforeAll(async () => {
    app = await startTestApp({ DEMO_DATA: 'true', USAGE_FLUSH_INTERVAL_MS: '50', TEST_CLOCK_START: '2026-12-29T23:59:00Z' }, { main: CLOCK_APP, ipc: true });
    const user = await registerAndLogin(app);
    apiKey = (await createApiKey(app, user.jwt, { policy: { records_per_day: 10, records_per_month: 25 } })).api_key;
  });

  afterAll(() => app.stop());

  it('refuses past the day quota until midnight UTC, then past the month quota until the 1st', async () => {
    const day = (used: number, resetsAt: string) => ({ quota: 'records_per_day', scope: 'key', limit: 10, used, remaining: 10 - used, period: 'day', resets_at: resetsAt });
    const month = (used: number, resetsAt = '2027-01-01T00:00:00Z') => ({ quota: 'records_per_month', scope: 'key', limit: 25, used, remaining: 25 - used, period: 'month', resets_at: resetsAt });

    expect((await call(1, 10).expect(200)).body.result._meta.usage.quotas).toEqual([day(10, '2026-12-30T00:00:00Z'), month(10)]);
    const refused = await call(2, 1);
    expect(refused.status).toBe(403);
    expect(refused.body.error.data).toEqual({ ...day(10, '2026-12-30T00:00:00Z'), total: 10 });

    await clock.set('2026-12-30T00:00:01Z');
    expect((await call(3, 10).expect(200)).body.result._meta.usage.quotas).toEqual([day(10, '2026-12-31T00:00:00Z'), month(20)]);
    await clock.set('2026-12-30T23:59:59Z');
    expect((await call(4, 1)).status).toBe(403);

    // A new day, but only 5 records of the month are left: the call returns those, then the month refuses.
    await clock.set('2026-12-31T00:00:00Z');
    const crossing = (await call(5, 10).expect(200)).body.result;
    expect(crossing.structuredContent).toMatchObject({ row_count: 5, truncated: true });
    expect(crossing._meta.usage).toEqual({ table: 'ods_daily', record_count: 5, limited_by_quota: true, cached: expect.any(Boolean), quotas: [day(5, '2027-01-01T00:00:00Z'), month(25)] });
    const monthRefusal = await call(6, 1);
    expect(monthRefusal.status).toBe(403);
    expect(monthRefusal.body.error.data).toEqual({ ...month(25), total: 25 });

    await clock.set('2027-01-01T00:00:00Z');
    expect((await call(7, 3).expect(200)).body.result._meta.usage.quotas).toEqual([day(3, '2027-01-02T00:00:00Z'), month(3, '2027-02-01T00:00:00Z')]);
  });
});
