import { FailureCounter } from './failure-counter.js';

describe(FailureCounter.name, () => {
  const t0 = 1_000_000;

  it('should allow a key until it has failed `limit` times in its window', () => {
    const counter = new FailureCounter(3, 60_000);
    counter.recordFailure('a', t0);
    counter.recordFailure('a', t0 + 1);
    expect(counter.retryAfterSeconds('a', t0 + 2)).toBe(0);
    counter.recordFailure('a', t0 + 2);
    expect(counter.retryAfterSeconds('a', t0 + 2)).toBe(60);
    expect(counter.retryAfterSeconds('a', t0 + 59_500)).toBe(1);
    expect(counter.retryAfterSeconds('b', t0 + 2)).toBe(0);
  });

  it('should start a fresh window once the old one ends', () => {
    const counter = new FailureCounter(2, 10_000);
    counter.recordFailure('a', t0);
    counter.recordFailure('a', t0);
    expect(counter.retryAfterSeconds('a', t0 + 9_999)).toBe(1);
    expect(counter.retryAfterSeconds('a', t0 + 10_000)).toBe(0);
    counter.recordFailure('a', t0 + 10_000);
    expect(counter.retryAfterSeconds('a', t0 + 10_001)).toBe(0);
  });

  it('should forget a key on request and keep at most maxKeys keys', () => {
    const counter = new FailureCounter(1, 60_000, 2);
    counter.recordFailure('a', t0);
    counter.forget('a');
    expect(counter.retryAfterSeconds('a', t0)).toBe(0);
    for (const key of ['x', 'y', 'z']) counter.recordFailure(key, t0);
    expect(counter.retryAfterSeconds('x', t0)).toBe(0);
    expect(counter.retryAfterSeconds('z', t0)).toBe(60);
  });

  it('should count attempts under way against the limit, for a second at a time', () => {
    const counter = new FailureCounter(3, 60_000);
    counter.recordFailure('a', t0);
    expect(counter.retryAfterSeconds('a', t0, 1)).toBe(0);
    expect(counter.retryAfterSeconds('a', t0, 2)).toBe(1);
    counter.recordFailure('a', t0);
    counter.recordFailure('a', t0);
    expect(counter.retryAfterSeconds('a', t0, 2)).toBe(60);
  });
});
