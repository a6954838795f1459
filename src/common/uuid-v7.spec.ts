import { uuidV7, uuidV7Time } from './uuid-v7.js';

describe('uuidV7', () => {
  it('should carry its time, version 7 and the RFC 9562 variant', () => {
    const id = uuidV7(Date.UTC(2026, 10, 25, 10, 0, 0, 123));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidV7Time(id).toISOString()).toBe('2026-11-25T10:00:00.123Z');
  });

  it('should sort as strings in the order the ids were made, within one millisecond too', () => {
    const at = Date.UTC(2030, 0, 1);
    const ids = Array.from({ length: 5000 }, () => uuidV7(at));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(5000);
    // 4096 ids per millisecond, then the timestamp moves on rather than wrapping the counter.
    expect(uuidV7Time(ids[4095]).getTime()).toBe(at);
    expect(uuidV7Time(ids[4096]).getTime()).toBe(at + 1);
  });

  it('should give each id its own random tail, across the blocks of random bytes they are drawn from', () => {
    // 8 random bytes each: 2,000 ids draw four 4 KiB blocks.
    const tails = Array.from({ length: 2000 }, () => uuidV7().slice(19).replace('-', ''));
    expect(new Set(tails).size).toBe(2000);
    expect(new Set(tails.map((tail) => tail.slice(1))).size).toBe(2000);
  });

  it('should keep the order when the clock steps back', () => {
    const first = uuidV7(Date.UTC(2031, 0, 1, 0, 0, 1));
    const second = uuidV7(Date.UTC(2031, 0, 1, 0, 0, 0));
    expect(second > first).toBe(true);
    expect(uuidV7Time(second).toISOString()).toBe('2031-01-01T00:00:01.000Z');
  });
});
