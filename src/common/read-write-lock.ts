/**
 * Many readers at once, or one writer alone. A waiting writer goes before readers that arrive
 * after it, so a steady stream of readers cannot starve it.
 */
export class ReadWriteLock {
  private readers = 0;
  private writer: Promise<void> | undefined;
  private readersGone: (() => void) | undefined;

  async read<T>(work: () => Promise<T>): Promise<T> {
    while (this.writer) await this.writer;
    this.readers++;
    try {
      return await work();
    } finally {
      this.readers--;
      if (this.readers === 0) this.readersGone?.();
    }
  }

  async write<T>(work: () => Promise<T>): Promise<T> {
    while (this.writer) await this.writer;
    let release!: () => void;
    this.writer = new Promise<void>((resolve) => (release = resolve));
    try {
      while (this.readers > 0) await new Promise<void>((resolve) => (this.readersGone = resolve));
      return await work();
    } finally {
      this.readersGone = undefined;
      this.writer = undefined;
      release();
    }
  }
}
