/**
 * At most `limit` tasks per key at once; one more is refused (the caller answers 429), not
 * queued, so a client that floods cannot build a backlog that delays everyone else.
 */
export class ConcurrencyLimiter {
  private readonly running = new Map<string, number>();

  constructor(private readonly limit: number) {}

  /** Runs the task, or returns undefined at once when `key` already has `limit` tasks running. */
  async run<T>(key: string, task: () => Promise<T>): Promise<{ value: T } | undefined> {
    const count = this.running.get(key) ?? 0;
    if (count >= this.limit) return undefined;
    this.running.set(key, count + 1);
    try {
      return { value: await task() };
    } finally {
      const left = (this.running.get(key) ?? 1) - 1;
      if (left === 0) this.running.delete(key);
      else this.running.set(key, left);
    }
  }
}
