import { ReadWriteLock } from './read-write-lock.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe('ReadWriteLock', () => {
  it('runs readers together and a writer only once they are done', async () => {
    const lock = new ReadWriteLock();
    const events: string[] = [];
    const gate = deferred();
    const readers = [1, 2].map((n) => lock.read(async () => { events.push(`read ${n} start`); await gate.promise; events.push(`read ${n} end`); }));
    const writer = lock.write(() => Promise.resolve(void events.push('write')));
    await tick();
    expect(events).toEqual(['read 1 start', 'read 2 start']);
    gate.resolve();
    await Promise.all([...readers, writer]);
    expect(events).toEqual(['read 1 start', 'read 2 start', 'read 1 end', 'read 2 end', 'write']);
  });

  it('lets a waiting writer go before readers that came after it, and keeps writers apart', async () => {
    const lock = new ReadWriteLock();
    const events: string[] = [];
    const gate = deferred();
    const first = lock.read(async () => { await gate.promise; events.push('early reader'); });
    const writers = [1, 2].map((n) => lock.write(async () => { events.push(`write ${n} start`); await tick(); events.push(`write ${n} end`); }));
    const late = lock.read(() => Promise.resolve(void events.push('late reader')));
    gate.resolve();
    await Promise.all([first, ...writers, late]);
    expect(events).toEqual(['early reader', 'write 1 start', 'write 1 end', 'write 2 start', 'write 2 end', 'late reader']);
  });

  it('releases the lock when the work fails', async () => {
    const lock = new ReadWriteLock();
    await expect(lock.write(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lock.read(() => Promise.resolve(7))).resolves.toBe(7);
  });
});
