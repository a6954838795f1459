import { BoundedGate, GateFullError, KeyedGate } from './bounded-gate.js';

describe(BoundedGate.name, () => {
  it('should run `concurrency` tasks at once, queue `maxWaiting` more in order and refuse the rest', async () => {
    const gate = new BoundedGate(2, 1);
    const started: number[] = [];
    const releases: (() => void)[] = [];
    const task = (n: number) => () => {
      started.push(n);
      return new Promise<number>((resolve) => releases.push(() => resolve(n)));
    };
    const running = [gate.run(task(1)), gate.run(task(2)), gate.run(task(3))];
    await expect(gate.run(task(4))).rejects.toBeInstanceOf(GateFullError);
    expect(started).toEqual([1, 2]);

    releases[0]();
    await running[0];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([1, 2, 3]);
    releases[1]();
    releases[2]();
    expect(await Promise.all(running)).toEqual([1, 2, 3]);
    expect(await gate.run(() => Promise.resolve('free again'))).toBe('free again');
  });

  it('should free the slot when a task fails', async () => {
    const gate = new BoundedGate(1, 0);
    await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await gate.run(() => Promise.resolve(1))).toBe(1);
  });
});

describe(KeyedGate.name, () => {
  it('should limit each key on its own', async () => {
    const gate = new KeyedGate(1, 0);
    let release!: () => void;
    const busy = gate.run('alice', () => new Promise<void>((resolve) => (release = resolve)));
    await expect(gate.run('alice', () => Promise.resolve())).rejects.toBeInstanceOf(GateFullError);
    expect(await gate.run('bob', () => Promise.resolve('bob ran'))).toBe('bob ran');
    release();
    await busy;
    expect(await gate.run('alice', () => Promise.resolve('alice again'))).toBe('alice again');
  });

  it("should refuse with the caller's own error when it names one", async () => {
    const gate = new KeyedGate(1, 0, () => new RangeError('alice is busy'));
    let release!: () => void;
    const busy = gate.run('alice', () => new Promise<void>((resolve) => (release = resolve)));
    const refused = gate.run('alice', () => Promise.resolve());
    await expect(refused).rejects.toBeInstanceOf(RangeError);
    await expect(refused).rejects.toThrow('alice is busy');
    release();
    await busy;
  });

  it('should free the slot when the task fails', async () => {
    const gate = new KeyedGate(1, 0);
    await expect(gate.run('alice', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await gate.run('alice', () => Promise.resolve('ok'))).toBe('ok');
  });
});
