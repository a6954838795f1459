import { LRUCache } from 'lru-cache';

/** This second and the 60 before it: a call counts until a full minute has passed since it. */
const BUCKETS = 61;

/** One key's calls of the last minute, by second. */
interface Window {
  counts: Uint32Array;
  /** The newest second counted (unix seconds). */
  second: number;
  total: number;
}

/**
 * Calls per minute per key, as a sliding window of one-second buckets: a call is admitted when the
 * calls of this second and the 60 before it, this one included, stay within the limit. So no 60 s
 * ever holds more than the limit (a call counts for 60 to 61 s), in 244 bytes per key however
 * high the limit.
 */
export class RateLimiter {
  private readonly windows: LRUCache<string, Window>;

  constructor(maxKeys: number) {
    this.windows = new LRUCache<string, Window>({ max: maxKeys });
  }

  /** Counts a call and returns 0, or refuses it and returns the seconds until one would be admitted. */
  take(keyId: string, limitPerMinute: number, nowMs: number): number {
    const second = Math.floor(nowMs / 1000);
    const window = this.windowAt(keyId, second);
    if (window.total < limitPerMinute) {
      window.counts[second % BUCKETS]++;
      window.total++;
      return 0;
    }
    return secondsUntilRoom(window, limitPerMinute, nowMs);
  }

  private windowAt(keyId: string, second: number): Window {
    let window = this.windows.get(keyId);
    if (!window) {
      window = { counts: new Uint32Array(BUCKETS), second, total: 0 };
      this.windows.set(keyId, window);
    } else if (second - window.second >= BUCKETS) {
      window.counts.fill(0);
      window.total = 0;
    } else {
      // Seconds that left the window since the last call take their counts with them.
      for (let gone = window.second + 1; gone <= second; gone++) {
        window.total -= window.counts[gone % BUCKETS];
        window.counts[gone % BUCKETS] = 0;
      }
    }
    window.second = Math.max(window.second, second);
    return window;
  }
}

/** When enough of the oldest seconds have left the window for one more call. */
function secondsUntilRoom(window: Window, limit: number, nowMs: number): number {
  let excess = window.total + 1 - limit;
  for (let second = window.second - BUCKETS + 1; second <= window.second; second++) {
    excess -= window.counts[second % BUCKETS];
    if (excess <= 0) return Math.max(1, Math.ceil(((second + BUCKETS) * 1000 - nowMs) / 1000));
  }
  return BUCKETS;
}
