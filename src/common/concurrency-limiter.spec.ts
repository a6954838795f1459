import { ConcurrencyLimiter } from './concurrency-limiter.js';

describe(ConcurrencyLimiter.name, () => {
  it('should refuse a key past its limit while the others run, and admit it again afterwards', async () => {
    const limiter = new ConcurrencyLimiter(2);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = limiter.run('alice', () => gate.then(() => 1));
    const second = limiter.run('alice', () => gate.then(() => 2));
    expect(await limiter.run('alice', () => Promise.resolve(3))).toBeUndefined();
    expect(await limiter.run('bob', () => Promise.resolve(4))).toEqual({ value: 4 });
    release();
    expect(await Promise.all([first, second])).toEqual([{ value: 1 }, { value: 2 }]);
    expect(await limiter.run('alice', () => Promise.resolve(5))).toEqual({ value: 5 });
  });

  it('should free the slot when the task fails', async () => {
    const limiter = new ConcurrencyLimiter(1);
    await expect(limiter.run('alice', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limiter.run('alice', () => Promise.resolve('ok'))).toEqual({ value: 'ok' });
  });
});
