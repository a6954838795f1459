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

  /**
   * Whole seconds until the key may try again; 0 when it may now. `pending` counts attempts under
   * way, as if they had failed already, so parallel attempts cannot pass the limit together; when
   * only those stand in the way, a second from now they may have succeeded.
   */
  retryAfterSeconds(key: string, now = Date.now(), pending = 0): number {
    const window = this.windows.peek(key);
    const count = window && window.resetAt > now ? window.count : 0;
    if (count + pending < this.limit) return 0;
    if (count < this.limit) return 1;
    return Math.max(1, Math.ceil((window!.resetAt - now) / 1000));
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
