import { type JSONRPCMessage, isJSONRPCErrorResponse, isJSONRPCNotification, isJSONRPCRequest, isJSONRPCResultResponse } from '@modelcontextprotocol/sdk/types.js';

/**
 * Whether a legacy SSE session is idle: no message posted for `idleMs` and no request of its client
 * waiting for an answer (a long tool call keeps its session open). Only what the client posts and
 * the answers to it count; anything else on the stream does not. `onIdle` runs once the session
 * has been idle for `idleMs`.
 */
export class SessionActivity {
  /** The client's requests not yet answered, by id (a client may reuse an id while one is open). */
  private readonly pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private idleAt = 0;

  constructor(
    private readonly idleMs: number,
    private readonly onIdle: () => void,
  ) {
    this.rearm();
  }

  /** The owner posted something to the session (whatever became of it). */
  posted(): void {
    this.rearm();
  }

  /** A message of the client, as it goes to the SDK server: a request waits for its answer. */
  received(message: unknown): void {
    if (isJSONRPCRequest(message)) this.pending.set(idOf(message.id), (this.pending.get(idOf(message.id)) ?? 0) + 1);
    // The SDK never answers a request its client cancelled.
    else if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') this.settle(message.params?.requestId);
    this.rearm();
  }

  /** A message the server sent down the stream. */
  sent(message: JSONRPCMessage): void {
    if (!isJSONRPCResultResponse(message) && !isJSONRPCErrorResponse(message)) return;
    this.settle(message.id);
    this.rearm();
  }

  /** Seconds until the session closes unless something happens; undefined while a request is waiting. */
  secondsUntilIdle(): number | undefined {
    return this.timer ? Math.max(1, Math.ceil((this.idleAt - Date.now()) / 1000)) : undefined;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private settle(id: unknown): void {
    const key = idOf(id);
    const count = this.pending.get(key) ?? 0;
    if (count > 1) this.pending.set(key, count - 1);
    else this.pending.delete(key);
  }

  private rearm(): void {
    this.stop();
    if (this.pending.size > 0) return;
    this.idleAt = Date.now() + this.idleMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onIdle();
    }, this.idleMs);
    // A session's timer alone must not keep the process alive at shutdown.
    this.timer.unref();
  }
}

/** 1 and "1" are different ids. */
const idOf = (id: unknown) => JSON.stringify(id) ?? '';
