/**
 * Runs tasks one after another. ClickHouse has no unique constraints or transactions, so
 * check-then-insert steps (one account per email, a cap on keys) are serialized in-process.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
