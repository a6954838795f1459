import { periodsAt } from './quota-periods.js';
import { type Counter, type CountedCall, UsageLedger } from './usage-ledger.js';

const periods = periodsAt(new Date('2026-11-26T10:00:00Z'));
const at = (iso: string) => Date.parse(iso) / 1000;
const call = (keyId: string, recordCount: number, createdAt = at('2026-11-26T09:00:00Z'), userId = 'u1'): CountedCall => ({ userId, keyId, recordCount, createdAt });
const counter = (subject: 'key' | 'user', subjectId: string, period: 'day' | 'month', metric: 'calls' | 'records'): Counter => ({ subject, subjectId, period, metric });

describe('UsageLedger', () => {
  it('counts a record once while it moves from the spool into ClickHouse', () => {
    const ledger = new UsageLedger();
    ledger.replaceStored('u1', [{ keyId: 'k1', dayCalls: 2, dayRecords: 40, monthCalls: 5, monthRecords: 100 }], periods);
    const spooled = call('k1', 7);
    ledger.spool(spooled);
    expect(ledger.used(counter('key', 'k1', 'day', 'records'), periods)).toBe(47);
    ledger.store(spooled);
    expect(ledger.used(counter('key', 'k1', 'day', 'records'), periods)).toBe(47);
    expect(ledger.used(counter('key', 'k1', 'month', 'records'), periods)).toBe(107);
    expect(ledger.used(counter('user', 'u1', 'day', 'calls'), periods)).toBe(3);
  });

  it('sums a user over keys, keeps other days apart, and forgets a dropped record', () => {
    const ledger = new UsageLedger();
    ledger.replaceStored('u1', [], periods);
    ledger.spool(call('k1', 5));
    ledger.spool(call('k2', 6));
    ledger.spool(call('k2', 9, at('2026-11-25T23:59:59Z')));
    expect(ledger.used(counter('user', 'u1', 'day', 'records'), periods)).toBe(11);
    expect(ledger.used(counter('user', 'u1', 'month', 'records'), periods)).toBe(20);
    ledger.drop(call('k2', 6));
    expect(ledger.used(counter('key', 'k2', 'day', 'records'), periods)).toBe(0);
  });

  it('stores confirmed records only for users whose counts it holds (the next read includes the rest)', () => {
    const ledger = new UsageLedger();
    const record = call('k9', 4, undefined, 'u9');
    ledger.spool(record);
    ledger.store(record);
    expect(ledger.used(counter('key', 'k9', 'day', 'records'), periods)).toBe(0);
  });

  it('keeps the all-time count a read found when a read without all-time counts ends after it', () => {
    const ledger = new UsageLedger();
    const allTime = counter('user', 'u1', 'day', 'records');
    const pack = { ...allTime, period: 'all' as const };
    ledger.replaceStored('u1', [{ keyId: 'k1', dayCalls: 1, dayRecords: 10, monthCalls: 1, monthRecords: 10 }], periods, { calls: 40, records: 950 });
    // A re-read that began before the user's first pack call, without all-time counts, ends last.
    ledger.replaceStored('u1', [{ keyId: 'k1', dayCalls: 2, dayRecords: 20, monthCalls: 2, monthRecords: 20 }], periods);
    expect([ledger.used(pack, periods), ledger.used(allTime, periods)]).toEqual([950, 20]);
    ledger.replaceStored('u1', [], periods, { calls: 41, records: 960 });
    expect(ledger.used(pack, periods)).toBe(960);
    ledger.forgetStored('u1');
    expect(ledger.used(pack, periods)).toBe(0);
  });

  it('replaces what a user had stored on a re-read, and holds reservations until released', async () => {
    const ledger = new UsageLedger();
    ledger.replaceStored('u1', [{ keyId: 'k1', dayCalls: 1, dayRecords: 10, monthCalls: 1, monthRecords: 10 }], periods);
    ledger.replaceStored('u1', [{ keyId: 'k1', dayCalls: 3, dayRecords: 30, monthCalls: 3, monthRecords: 30 }], periods);
    const dayRecords = counter('key', 'k1', 'day', 'records');
    expect(ledger.used(dayRecords, periods)).toBe(30);

    const release = ledger.reserve([dayRecords, counter('key', 'k1', 'day', 'calls')], periods, { calls: 1, records: 25 });
    expect(ledger.reservedFor(dayRecords, periods)).toBe(25);
    expect(ledger.reservedFor(counter('key', 'k1', 'day', 'calls'), periods)).toBe(1);
    const released = ledger.nextRelease();
    release();
    await expect(released).resolves.toBeUndefined();
    expect(ledger.reservedFor(dayRecords, periods)).toBe(0);
  });
});
