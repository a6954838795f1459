import { RateLimiter } from './rate-limiter.js';

const MINUTE = 60_000;
const t0 = Date.UTC(2026, 10, 26, 10, 0, 0);

describe('RateLimiter', () => {
  it('admits exactly the limit in a burst and names the wait for the next call', () => {
    const limiter = new RateLimiter(10);
    const answers = Array.from({ length: 61 }, (_, i) => limiter.take('k', 60, t0 + i * 10));
    expect(answers.slice(0, 60).every((wait) => wait === 0)).toBe(true);
    // 60 calls this minute: the next fits once the window has slid one call's worth into the next minute.
    expect(answers[60]).toBe(61);
    expect(limiter.take('other', 60, t0 + 700)).toBe(0);
  });

  it('holds the limit across a minute boundary', () => {
    const limiter = new RateLimiter(10);
    for (let i = 0; i < 60; i++) expect(limiter.take('k', 60, t0 + MINUTE - 1000 + i)).toBe(0);
    // Just after the boundary almost all of the previous minute still counts.
    expect(limiter.take('k', 60, t0 + MINUTE + 100)).toBeGreaterThan(0);
    // Half a minute later half of it has slid out: 30 more fit, not 31.
    const admitted = Array.from({ length: 31 }, () => limiter.take('k', 60, t0 + MINUTE + MINUTE / 2)).filter((wait) => wait === 0).length;
    expect(admitted).toBe(30);
  });

  it('starts afresh after a quiet minute', () => {
    const limiter = new RateLimiter(10);
    for (let i = 0; i < 5; i++) limiter.take('k', 5, t0);
    expect(limiter.take('k', 5, t0 + 1)).toBeGreaterThan(0);
    expect(limiter.take('k', 5, t0 + 2 * MINUTE + 1)).toBe(0);
  });
});
