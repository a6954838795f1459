import { LRUCache } from 'lru-cache';

interface Window {
  count: number;
  resetAt: number;
}

/**
 * Counts failures per key (a client address, an account) in fixed windows: after `limit` failures
 * the key is refused until its window ends. Memory is bounded: at most `maxKeys` keys are kept, the
 * least recently failed dropped first.
 */
export class FailureCounter {
  private readonly windows: LRUCache<string, Window>;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    maxKeys = 100_000,
  ) {
    this.windows = new LRUCache<string, Window>({ max: maxKeys });
  }

  /** Whole seconds until the key may try again; 0 when it may now. */
  retryAfterSeconds(key: string, now = Date.now()): number {
    const window = this.windows.peek(key);
    if (!window || window.resetAt <= now || window.count < this.limit) return 0;
    return Math.max(1, Math.ceil((window.resetAt - now) / 1000));
  }

  recordFailure(key: string, now = Date.now()): void {
    const window = this.windows.get(key);
    if (!window || window.resetAt <= now) this.windows.set(key, { count: 1, resetAt: now + this.windowMs });
    else window.count++;
  }

  forget(key: string): void {
    this.windows.delete(key);
  }
}
