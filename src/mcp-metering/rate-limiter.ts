import { LRUCache } from 'lru-cache';

const WINDOW_MS = 60_000;

interface Window {
  /** Start of the current fixed minute. */
  start: number;
  current: number;
  previous: number;
}

/**
 * Calls per minute per key, as a sliding window: the previous minute's count, weighted by how much
 * of it still lies in the last 60 s, plus this minute's. So N calls in any burst admit exactly the
 * limit, also across a minute boundary, with three numbers per key (Cloudflare's estimate; it never
 * admits more than the limit in a minute and errs on refusing only when calls were spread unevenly).
 */
export class RateLimiter {
  private readonly windows: LRUCache<string, Window>;

  constructor(maxKeys: number) {
    this.windows = new LRUCache<string, Window>({ max: maxKeys });
  }

  /** Counts a call and returns 0, or refuses it and returns the seconds until one would be admitted. */
  take(keyId: string, limitPerMinute: number, now: number): number {
    const window = this.windowAt(keyId, now);
    const elapsed = (now - window.start) / WINDOW_MS;
    if (window.previous * (1 - elapsed) + window.current + 1 <= limitPerMinute) {
      window.current++;
      return 0;
    }
    return Math.max(1, Math.ceil(waitMs(window, limitPerMinute, now) / 1000));
  }

  private windowAt(keyId: string, now: number): Window {
    const start = now - (now % WINDOW_MS);
    let window = this.windows.get(keyId);
    if (!window) {
      window = { start, current: 0, previous: 0 };
      this.windows.set(keyId, window);
    } else if (window.start !== start) {
      window.previous = start - window.start === WINDOW_MS ? window.current : 0;
      window.current = 0;
      window.start = start;
    }
    return window;
  }
}

/** How long until previous × (1 − elapsed) + current + 1 ≤ limit: within this minute, or into the next. */
function waitMs(window: Window, limit: number, now: number): number {
  const room = limit - 1 - window.current;
  if (room >= 0 && window.previous > 0) return window.start + WINDOW_MS * (1 - room / window.previous) - now;
  const nextStart = window.start + WINDOW_MS;
  // Next minute: this minute's count becomes the previous one and decays from there.
  const intoNext = window.current > 0 ? WINDOW_MS * Math.max(0, 1 - (limit - 1) / window.current) : 0;
  return nextStart + intoNext - now;
}
