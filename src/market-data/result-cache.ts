import { performance } from 'node:perf_hooks';
import { LRUCache } from 'lru-cache';

/** How a lookup was answered: from a stored entry, by joining an identical query under way, or by its own query. */
export type CacheOutcome = 'hit' | 'shared' | 'miss';

export interface CacheAnswer<V> {
  value: V;
  outcome: CacheOutcome;
}

export interface ResultCacheOptions<V> {
  /** Bound on the sum of entry sizes (sizeOf); an entry larger than this is never stored. */
  maxBytes: number;
  sizeOf(value: V, key: string): number;
  /** Entries are served only while the last successful change check started less than this long ago. */
  freshForMs: number;
  /** A monotonic clock (performance.now by default): a wall clock set back must not extend the freshness bound. */
  now?: () => number;
}

/** The counts behind the cache's metrics. */
export interface CacheCounts {
  hits: number;
  shared: number;
  misses: number;
  evictions: number;
  invalidations: number;
}

interface Entry<V> {
  value: V;
  tables: readonly string[];
}

/** What the cache knows of one table it holds answers of (or is loading one for). */
interface TableState {
  /**
   * Stands for the table's data as of the last check that saw it; undefined until a check has
   * seen it. A new one (from a counter that never repeats) is issued whenever it changes, so an
   * answer loaded across a change can tell.
   */
  version: number | undefined;
  keys: Set<string>;
  loads: number;
}

/**
 * Answers keyed by a string, each depending on some tables, bounded in size (LRU), with identical
 * concurrent misses collapsed into one load. It never looks at the data itself: a watcher reports
 * each check of the tables (checked) and each failed check (checkFailed).
 *
 * Correctness rules: an answer is stored only when every table it read had been seen by a check
 * before the load began and none changed until it ended; a change drops the table's answers; an
 * answer is served only while the last successful check started within freshForMs, so a change
 * shows within that bound even when checks stall or fail. A failed load is never stored.
 */
export class ResultCache<V> {
  readonly counts: CacheCounts = { hits: 0, shared: 0, misses: 0, evictions: 0, invalidations: 0 };
  private readonly entries: LRUCache<string, Entry<V>>;
  /** Loads under way, each with the versions of its tables when it began. */
  private readonly loading = new Map<string, Load<V>>();
  private readonly tables = new Map<string, TableState>();
  private readonly maxBytes: number;
  private readonly freshForMs: number;
  private readonly now: () => number;
  private lastCheckStartedAt = Number.NEGATIVE_INFINITY;
  private nextVersion = 1;

  constructor(private readonly options: ResultCacheOptions<V>) {
    this.maxBytes = options.maxBytes;
    this.freshForMs = options.freshForMs;
    this.now = options.now ?? (() => performance.now());
    this.entries = new LRUCache<string, Entry<V>>({
      maxSize: options.maxBytes,
      sizeCalculation: (entry, key) => Math.max(1, options.sizeOf(entry.value, key)),
      dispose: (entry, key, reason) => this.forget(key, entry, reason),
    });
  }

  get bytes(): number {
    return this.entries.calculatedSize;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The tables a check must look at: those with stored answers or loads under way. */
  watchedTables(): string[] {
    return [...this.tables.keys()];
  }

  /** The answer for `key`: stored, shared with an identical load under way, or loaded now (and stored if still valid). */
  async get(key: string, tables: readonly string[], load: () => Promise<V>): Promise<CacheAnswer<V>> {
    const stored = this.entries.get(key);
    if (stored && this.isVerified()) {
      this.counts.hits++;
      return { value: stored.value, outcome: 'hit' };
    }
    const underWay = this.loading.get(key);
    // A load that began before a change a check has seen since may read the old rows: not joined.
    if (underWay && isCurrent(underWay)) {
      this.counts.shared++;
      return { value: await underWay.value, outcome: 'shared' };
    }
    this.counts.misses++;
    return { value: await this.startLoad(key, tables, load).value, outcome: 'miss' };
  }

  /**
   * A check that started at `startedAt` looked at `checked` and found `changed` different from
   * what it saw before (a table it had never seen counts as changed).
   */
  checked(startedAt: number, checked: readonly string[], changed: ReadonlySet<string>): void {
    for (const table of checked) {
      const state = this.tables.get(table);
      if (!state) continue;
      // Idle since the check before: forgotten (its next load waits for a check to see it again).
      if (state.keys.size === 0 && state.loads === 0 && state.version !== undefined) this.tables.delete(table);
      else if (changed.has(table) || state.version === undefined) this.changedTable(state);
    }
    this.lastCheckStartedAt = Math.max(this.lastCheckStartedAt, startedAt);
  }

  /** Changes could not be checked: nothing stored can be trusted, and nothing is served until a check succeeds. */
  checkFailed(): void {
    this.lastCheckStartedAt = Number.NEGATIVE_INFINITY;
    for (const state of this.tables.values()) {
      this.changedTable(state);
      state.version = undefined;
    }
  }

  private isVerified(): boolean {
    return this.now() - this.lastCheckStartedAt < this.freshForMs;
  }

  private startLoad(key: string, tables: readonly string[], load: () => Promise<V>): Load<V> {
    const states = tables.map((table) => this.watch(table));
    const started: Load<V> = { states, versions: states.map((state) => state.version), value: Promise.resolve(undefined as V) };
    // In the map before it runs: a load that throws at once still leaves it.
    this.loading.set(key, started);
    started.value = this.loadAndStore(key, tables, started, load);
    return started;
  }

  private async loadAndStore(key: string, tables: readonly string[], started: Load<V>, load: () => Promise<V>): Promise<V> {
    try {
      const value = await load();
      const seen = started.states.every((state) => state.version !== undefined);
      if (seen && isCurrent(started) && this.isVerified()) this.store(key, tables, value);
      return value;
    } finally {
      // A newer load of the same key may have taken its place (this one began before a change).
      if (this.loading.get(key) === started) this.loading.delete(key);
      for (const state of started.states) state.loads--;
    }
  }

  private watch(table: string): TableState {
    let state = this.tables.get(table);
    if (!state) {
      state = { version: undefined, keys: new Set(), loads: 0 };
      this.tables.set(table, state);
    }
    state.loads++;
    return state;
  }

  private store(key: string, tables: readonly string[], value: V): void {
    if (this.options.sizeOf(value, key) > this.maxBytes) return;
    this.entries.set(key, { value, tables });
    for (const table of tables) this.tables.get(table)?.keys.add(key);
  }

  private changedTable(state: TableState): void {
    state.version = this.nextVersion++;
    for (const key of [...state.keys]) {
      if (this.entries.delete(key)) this.counts.invalidations++;
    }
  }

  /** Keeps the per-table key index in step with the LRU (an overwrite keeps the key, so it stays indexed). */
  private forget(key: string, entry: Entry<V>, reason: LRUCache.DisposeReason): void {
    if (reason === 'set') return;
    if (reason === 'evict') this.counts.evictions++;
    for (const table of entry.tables) this.tables.get(table)?.keys.delete(key);
  }
}

interface Load<V> {
  value: Promise<V>;
  states: TableState[];
  versions: (number | undefined)[];
}

/** Whether no check has seen a change of the load's tables since it began. */
const isCurrent = <V>(load: Load<V>) => load.states.every((state, index) => state.version === load.versions[index]);

/** JSON with object keys sorted at every level, so equal arguments give one cache key whatever their order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}
