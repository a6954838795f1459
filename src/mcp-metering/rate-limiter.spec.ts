import { RateLimiter } from './rate-limiter.js';

const t0 = Date.UTC(2026, 10, 26, 10, 0, 0);

describe('RateLimiter', () => {
  it('admits exactly the limit in a burst and names the wait until the first of them leaves the window', () => {
    const limiter = new RateLimiter(10);
    const answers = Array.from({ length: 61 }, (_, i) => limiter.take('k', 60, t0 + i * 10));
    expect(answers.slice(0, 60)).toEqual(new Array(60).fill(0));
    expect(answers[60]).toBe(61);
    expect(limiter.take('other', 60, t0 + 700)).toBe(0);
  });

  it('never admits more than the limit in any 60 seconds, also across a minute boundary', () => {
    const limiter = new RateLimiter(10);
    for (let i = 0; i < 30; i++) expect(limiter.take('k', 60, t0 + 59_000 + i)).toBe(0);
    for (let i = 0; i < 30; i++) expect(limiter.take('k', 60, t0 + 60_500 + i)).toBe(0);
    expect(limiter.take('k', 60, t0 + 61_000)).toBe(59);
    // 59.97 s after the first 30 they still count; once their second is a full minute old, exactly 30 more fit.
    expect(limiter.take('k', 60, t0 + 119_000)).toBe(1);
    const later = t0 + 120_000;
    const admitted = Array.from({ length: 31 }, () => limiter.take('k', 60, later)).filter((wait) => wait === 0);
    expect(admitted).toHaveLength(30);
  });

  it('lets a call count for a full minute (never more than the limit in any 60 s), and starts afresh after a quiet minute', () => {
    const limiter = new RateLimiter(10);
    for (let i = 0; i < 5; i++) limiter.take('k', 5, t0 + i * 1000);
    expect(limiter.take('k', 5, t0 + 59_999)).toBe(2);
    expect(limiter.take('k', 5, t0 + 60_000)).toBe(1);
    expect(limiter.take('k', 5, t0 + 61_000)).toBe(0);
    expect(limiter.take('k', 5, t0 + 200_000)).toBe(0);
  });
});
