import type { Socket } from 'node:net';
import type { TrustProxy } from './client-address.js';
import { Tally } from './tally.js';

/**
 * At most `perAddress` open connections from one peer address; more are closed on arrival, so one
 * host that keeps reconnecting cannot hold every slot of HTTP_MAX_CONNECTIONS. A peer that is a
 * trusted proxy carries many clients and is not limited here (set TRUST_PROXY behind a proxy).
 */
export class ConnectionLimiter {
  private readonly open = new Tally();

  constructor(
    private readonly perAddress: number,
    private readonly trustProxy: TrustProxy,
  ) {}

  /** Counts the connection, or destroys it and returns false when its peer has too many. */
  admit(socket: Socket): boolean {
    const peer = socket.remoteAddress;
    if (!peer || this.trustProxy(peer, 0)) return true;
    if (this.open.of(peer) >= this.perAddress) {
      socket.destroy();
      return false;
    }
    this.open.increment(peer);
    socket.once('close', () => this.open.decrement(peer));
    return true;
  }
}
