/** The gate's queue is full: the caller should answer "busy, retry shortly" at once. */
export class GateFullError extends Error {
  constructor() {
    super('too many operations are waiting');
    this.name = 'GateFullError';
  }
}

/** What a full gate throws; a caller with two gates gives each its own, to tell them apart. */
export type GateRefusal = () => Error;

const gateFull: GateRefusal = () => new GateFullError();

/**
 * At most `concurrency` tasks at once, at most `maxWaiting` more queued in arrival order; one
 * beyond that is refused (GateFullError) rather than queued, so a flood cannot build an unbounded
 * backlog of promises and sockets, and its share of the resource behind the gate stays fixed.
 */
export class BoundedGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly maxWaiting: number,
    private readonly refusal: GateRefusal = gateFull,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.maxWaiting) throw this.refusal();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so `active` never drops below a busy gate.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** One BoundedGate per key (an API key, a client address), made on first use and dropped when idle. */
export class KeyedGate {
  private readonly gates = new Map<string, { gate: BoundedGate; users: number }>();

  constructor(
    private readonly concurrency: number,
    private readonly maxWaiting: number,
    private readonly refusal: GateRefusal = gateFull,
  ) {}

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const entry = this.gates.get(key) ?? { gate: new BoundedGate(this.concurrency, this.maxWaiting, this.refusal), users: 0 };
    this.gates.set(key, entry);
    entry.users++;
    try {
      return await entry.gate.run(task);
    } finally {
      if (--entry.users === 0) this.gates.delete(key);
    }
  }
}
