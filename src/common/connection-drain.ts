import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Answers a request that arrived after the drain began, without running the app's handler for it. */
export type LateRequestRefusal = (res: ServerResponse) => void;

/**
 * Closes a listener without cutting an answer short and without waiting on a connection that
 * carries none. Node's server.close() closes only the connections it counts idle, and only at that
 * moment: a connection that has not sent its first request counts as busy (its headers timeout
 * runs), such as the spare one fetch opens after a client aborts a stream, so a stop waited until
 * the client dropped it (4 s for fetch); and a connection whose answer ended after close() (a call
 * in flight, a stream the app ends) stayed open for its keep-alive timeout. A request is being
 * answered from the moment its headers are in (Node's 'request') until its response closes; one
 * whose headers are still arriving is not, and its connection is closed like an idle one.
 *
 * A request that arrives once the drain began (pipelined behind an answer, or sent on a connection
 * whose answer ended) never reaches the app's handlers: its answer may never be sent, and a handler
 * that ran (a rotated refresh token, a created key) would leave the client without its result. It
 * is refused instead, so the client can send it again elsewhere.
 */
export class ConnectionDrain {
  /** Every open connection, with the responses on it still being answered. */
  private readonly connections = new Map<Socket, Set<ServerResponse>>();
  private draining = false;

  /** Takes over the server's request listeners (the app's handlers), so late requests can be kept from them. */
  constructor(
    private readonly server: Server,
    private readonly refuseLate: LateRequestRefusal,
  ) {
    const handlers = server.listeners('request') as RequestListener[];
    server.removeAllListeners('request');
    server.on('connection', (socket: Socket) => this.track(socket));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (this.draining) return this.refuse(res);
      this.answering(req.socket, res);
      for (const handler of handlers) handler.call(server, req, res);
    });
  }

  /**
   * Stops accepting, closes each connection as soon as no request on it is being answered (the
   * idle ones at once, the others after their last answer), and cuts whatever is still open after
   * `graceMs`. Resolves once every connection is closed.
   */
  close(graceMs: number): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const [socket, answers] of this.connections) {
      if (answers.size === 0) socket.destroy();
      else answers.forEach(announceClose);
    }
    setTimeout(() => this.server.closeAllConnections(), graceMs).unref();
    return closed;
  }

  private track(socket: Socket): void {
    this.connections.set(socket, new Set());
    socket.once('close', () => this.connections.delete(socket));
  }

  private answering(socket: Socket, res: ServerResponse): void {
    const answers = this.connections.get(socket);
    if (!answers) return;
    answers.add(res);
    res.once('close', () => {
      answers.delete(res);
      // end(), not destroy(): the answer's last bytes may still be on their way; then nothing more is read.
      if (this.draining && answers.size === 0 && this.connections.has(socket)) socket.end(() => socket.destroy());
    });
  }

  private refuse(res: ServerResponse): void {
    announceClose(res);
    this.refuseLate(res);
  }
}

/** Connection: close tells the client to send nothing more on this connection; Node then closes it after the answer. */
function announceClose(res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('Connection', 'close');
}
