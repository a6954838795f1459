import { ResultCache, canonicalJson } from './result-cache.js';
import { TableChangeWatcher } from './table-change-watcher.js';
import type { ClickHouseService } from '../clickhouse/clickhouse.service.js';

const FRESH_FOR_MS = 2000;

/** A cache of strings (size: their length) on a clock the test moves, and the loads it ran. */
function cacheOf(maxBytes = 1000) {
  let now = 10_000;
  const loads: string[] = [];
  const cache = new ResultCache<string>({ maxBytes, sizeOf: (value) => value.length, freshForMs: FRESH_FOR_MS, now: () => now });
  const load = (value: string) => () => {
    loads.push(value);
    return Promise.resolve(value);
  };
  const check = (changed: string[] = []) => cache.checked(now, cache.watchedTables(), new Set(changed));
  return { cache, loads, load, check, advance: (ms: number) => (now += ms) };
}

/** A load that finishes when the test says so. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

describe('ResultCache', () => {
  it('should store nothing for a table no check has seen yet, then serve what it loads after one', async () => {
    const { cache, loads, load, check } = cacheOf();
    expect(await cache.get('k', ['ods_daily'], load('v1'))).toEqual({ value: 'v1', outcome: 'miss' });
    expect([cache.size, cache.watchedTables()]).toEqual([0, ['ods_daily']]);

    await cache.get('k', ['ods_daily'], load('v2'));
    check();
    expect(await cache.get('k', ['ods_daily'], load('v3'))).toEqual({ value: 'v3', outcome: 'miss' });
    expect(await cache.get('k', ['ods_daily'], load('v4'))).toEqual({ value: 'v3', outcome: 'hit' });
    expect(loads).toEqual(['v1', 'v2', 'v3']);
    expect(cache.counts).toEqual({ hits: 1, shared: 0, misses: 3, evictions: 0, invalidations: 0 });
    expect([cache.size, cache.bytes, cache.watchedTables()]).toEqual([1, 2, ['ods_daily']]);
  });

  it('should run one load for identical concurrent misses and give every caller its answer', async () => {
    const { cache, check } = cacheOf();
    await cache.get('k', ['t'], () => Promise.resolve('x'));
    check();
    const slow = deferred<string>();
    let loadsRun = 0;
    const slowLoad = () => {
      loadsRun++;
      return slow.promise;
    };
    const answers = Promise.all([cache.get('k', ['t'], slowLoad), cache.get('k', ['t'], slowLoad), cache.get('k', ['t'], slowLoad)]);
    slow.resolve('rows');
    expect(await answers).toEqual([
      { value: 'rows', outcome: 'miss' },
      { value: 'rows', outcome: 'shared' },
      { value: 'rows', outcome: 'shared' },
    ]);
    expect(loadsRun).toBe(1);
    expect(await cache.get('k', ['t'], slowLoad)).toEqual({ value: 'rows', outcome: 'hit' });
  });

  it('should never store a failed load, and fail every caller that shared it', async () => {
    const { cache, check, load } = cacheOf();
    await cache.get('k', ['t'], load('x'));
    check();
    const failing = deferred<string>();
    const both = Promise.allSettled([cache.get('k', ['t'], () => failing.promise), cache.get('k', ['t'], () => failing.promise)]);
    failing.reject(new Error('ClickHouse did not answer'));
    expect((await both).map((result) => result.status === 'rejected' && (result.reason as Error).message)).toEqual(['ClickHouse did not answer', 'ClickHouse did not answer']);
    expect(cache.size).toBe(0);
    expect(await cache.get('k', ['t'], load('retried'))).toEqual({ value: 'retried', outcome: 'miss' });
    expect(await cache.get('k', ['t'], load('other'))).toEqual({ value: 'retried', outcome: 'hit' });
  });

  it('should evict the least recently used answers to stay within the byte bound, and never store one larger than it', async () => {
    const { cache, check, load } = cacheOf(10);
    await cache.get('a', ['t'], load('aaaa'));
    check();
    for (const key of ['a', 'b']) await cache.get(key, ['t'], load(key.repeat(4)));
    expect((await cache.get('a', ['t'], load('new'))).outcome).toBe('hit');
    await cache.get('c', ['t'], load('cccc'));
    expect([cache.size, cache.bytes, cache.counts.evictions]).toEqual([2, 8, 1]);
    expect((await cache.get('b', ['t'], load('bbbb'))).outcome).toBe('miss');
    expect((await cache.get('a', ['t'], load('aaaa'))).outcome).toBe('miss');

    await cache.get('huge', ['t'], load('x'.repeat(11)));
    expect((await cache.get('huge', ['t'], load('x'.repeat(11)))).outcome).toBe('miss');
    expect(cache.bytes).toBeLessThanOrEqual(10);
  });

  it('should drop the answers of a changed table, also those that read it besides their own', async () => {
    const { cache, check, load } = cacheOf();
    await cache.get('seed', ['ods_daily', 'ods_adj_factor', 'ods_stock_basic'], load('s'));
    check();
    await cache.get('raw', ['ods_daily'], load('raw'));
    await cache.get('adjusted', ['ods_daily', 'ods_adj_factor'], load('adjusted'));
    await cache.get('stocks', ['ods_stock_basic'], load('stocks'));
    check(['ods_adj_factor']);
    expect([cache.size, cache.counts.invalidations]).toEqual([2, 1]);
    expect((await cache.get('adjusted', ['ods_daily', 'ods_adj_factor'], load('adjusted 2'))).outcome).toBe('miss');
    expect((await cache.get('raw', ['ods_daily'], load('raw 2'))).value).toBe('raw');
    check(['ods_daily']);
    expect([cache.size, cache.counts.invalidations]).toEqual([1, 3]);
    expect((await cache.get('stocks', ['ods_stock_basic'], load('stocks 2'))).value).toBe('stocks');
  });

  it('should not store an answer whose load began before a change it may have missed', async () => {
    const { cache, check, load } = cacheOf();
    await cache.get('k', ['t'], load('x'));
    check();
    const slow = deferred<string>();
    const answer = cache.get('k', ['t'], () => slow.promise);
    check(['t']);
    slow.resolve('read before the change');
    expect(await answer).toEqual({ value: 'read before the change', outcome: 'miss' });
    expect((await cache.get('k', ['t'], load('after'))).value).toBe('after');
  });

  it('should not let a caller arriving after a change join a load that began before it, and store the newer answer', async () => {
    const { cache, check, load } = cacheOf();
    await cache.get('k', ['t'], load('x'));
    check();
    const old = deferred<string>();
    const early = cache.get('k', ['t'], () => old.promise);
    check(['t']);
    const fresh = deferred<string>();
    const late = cache.get('k', ['t'], () => fresh.promise);
    fresh.resolve('after the change');
    old.resolve('before the change');
    expect(await Promise.all([early, late])).toEqual([
      { value: 'before the change', outcome: 'miss' },
      { value: 'after the change', outcome: 'miss' },
    ]);
    // The old load ending last neither stored its answer nor dropped the newer load's.
    expect(await cache.get('k', ['t'], load('unused'))).toEqual({ value: 'after the change', outcome: 'hit' });
    expect(cache.counts).toMatchObject({ shared: 0, misses: 3, hits: 1 });
  });

  it('should serve nothing once no check has started within the freshness bound, and again after one finds no change', async () => {
    const { cache, check, load, advance } = cacheOf();
    await cache.get('k', ['t'], load('x'));
    check();
    await cache.get('k', ['t'], load('old'));
    advance(FRESH_FOR_MS - 1);
    expect((await cache.get('k', ['t'], load('fresh'))).value).toBe('old');
    advance(1);
    expect(await cache.get('k', ['t'], load('fresh'))).toEqual({ value: 'fresh', outcome: 'miss' });
    expect(await cache.get('k', ['t'], load('fresh 2'))).toEqual({ value: 'fresh 2', outcome: 'miss' });
    // A check that finds no change vouches for the stored answer again.
    check();
    expect(await cache.get('k', ['t'], load('fresh 3'))).toEqual({ value: 'old', outcome: 'hit' });
  });

  it('should drop everything and store nothing when a check fails, until a check sees every table again', async () => {
    const { cache, check, load } = cacheOf();
    await cache.get('k', ['t'], load('x'));
    check();
    await cache.get('k', ['t'], load('cached'));
    cache.checkFailed();
    expect([cache.size, cache.counts.invalidations]).toEqual([0, 1]);
    expect((await cache.get('k', ['t'], load('unchecked'))).outcome).toBe('miss');
    expect((await cache.get('k', ['t'], load('unchecked 2'))).outcome).toBe('miss');
    check();
    await cache.get('k', ['t'], load('checked'));
    expect(await cache.get('k', ['t'], load('other'))).toEqual({ value: 'checked', outcome: 'hit' });
  });

  it('should stop watching a table once it has neither answers nor loads', async () => {
    const { cache, check, load } = cacheOf();
    await cache.get('k', ['a', 'b'], load('x'));
    check();
    await cache.get('k', ['a', 'b'], load('y'));
    expect(cache.watchedTables()).toEqual(['a', 'b']);
    check(['b']);
    expect(cache.watchedTables()).toEqual(['a', 'b']);
    check();
    expect(cache.watchedTables()).toEqual([]);
  });
});

describe('canonicalJson', () => {
  it('should give equal arguments one key whatever the order of their names, and keep array order', () => {
    expect(canonicalJson({ ts_code: '000001.SZ', adjust: 'none', range: { end: 2, start: 1 } })).toBe('{"adjust":"none","range":{"end":2,"start":1},"ts_code":"000001.SZ"}');
    expect(canonicalJson({ range: { start: 1, end: 2 }, adjust: 'none', ts_code: '000001.SZ' })).toBe(canonicalJson({ ts_code: '000001.SZ', adjust: 'none', range: { end: 2, start: 1 } }));
    expect(canonicalJson({ ts_codes: ['600519.SH', '000001.SZ'] })).not.toBe(canonicalJson({ ts_codes: ['000001.SZ', '600519.SH'] }));
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });
});

describe('TableChangeWatcher.changedSince', () => {
  const watcher = () => new TableChangeWatcher({} as ClickHouseService);
  const snapshot = (host: string, fingerprints: Record<string, string>) => ({ host, fingerprints: new Map(Object.entries(fingerprints)) });

  it('should report a table whose parts differ from what the same server showed last, or that lost all its parts', () => {
    const parts = watcher();
    expect(parts.changedSince(['a', 'b'], snapshot('ch1', { a: '1/10/7', b: '2/5/9' }))).toEqual(new Set(['a', 'b']));
    expect(parts.changedSince(['a', 'b'], snapshot('ch1', { a: '1/10/7', b: '2/5/9' }))).toEqual(new Set());
    expect(parts.changedSince(['a', 'b'], snapshot('ch1', { a: '1/10/8', b: '2/5/9' }))).toEqual(new Set(['a']));
    expect(parts.changedSince(['a', 'b'], snapshot('ch1', { a: '1/10/8' }))).toEqual(new Set(['b']));
  });

  it('should compare each replica with itself: one never seen counts as changed, one catching up later shows its change then', () => {
    const parts = watcher();
    parts.changedSince(['a'], snapshot('ch1', { a: 'old' }));
    expect(parts.changedSince(['a'], snapshot('ch2', { a: 'old' }))).toEqual(new Set(['a']));
    expect(parts.changedSince(['a'], snapshot('ch1', { a: 'new' }))).toEqual(new Set(['a']));
    expect(parts.changedSince(['a'], snapshot('ch2', { a: 'old' }))).toEqual(new Set());
    expect(parts.changedSince(['a'], snapshot('ch2', { a: 'new' }))).toEqual(new Set(['a']));
  });
});
