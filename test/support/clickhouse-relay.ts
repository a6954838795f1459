import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';
import { pollUntil } from '../../scripts/lib/poll.mjs';
import { clickHouseUrl } from './clickhouse.js';

/** How a held get_daily_bars call looks to the relay: its query of ods_daily. */
export const DAILY_BARS_QUERY = /FROM `?ods_daily/;

/**
 * A TCP relay between a gateway and the test ClickHouse that can hold what the gateway sends, so
 * its queries wait exactly as long as a test needs: the server itself is shared by every spec and
 * cannot be paused. While held, the bytes are kept here (and can be read: which queries wait) and
 * sent on release, in order; answers to what was sent before keep flowing.
 */
export class ClickHouseRelay {
  private readonly sockets = new Set<Socket>();
  private held: { upstream: Socket; chunk: Buffer }[] | undefined;

  private constructor(
    private readonly server: Server,
    /** CLICKHOUSE_URL for the gateway. */
    readonly url: string,
  ) {}

  static async start(target = new URL(clickHouseUrl())): Promise<ClickHouseRelay> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = new URL(target);
    url.hostname = '127.0.0.1';
    url.port = String((server.address() as AddressInfo).port);
    const relay = new ClickHouseRelay(server, url.toString().replace(/\/$/, ''));
    server.on('connection', (client) => relay.relay(client, connect(Number(target.port), target.hostname)));
    return relay;
  }

  hold(): void {
    this.held ??= [];
  }

  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const { upstream, chunk } of held) upstream.write(chunk);
  }

  /** Waits until `count` held requests match `pattern` (say, the queries of that many tool calls). */
  waitForHeld(pattern: RegExp, count: number): Promise<number> {
    const matching = () => (this.held ?? []).filter(({ chunk }) => pattern.test(chunk.toString('latin1'))).length;
    return pollUntil(matching, (n) => n >= count, { timeoutMs: 10_000, intervalMs: 20 });
  }

  async close(): Promise<void> {
    this.release();
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private relay(client: Socket, upstream: Socket): void {
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => (this.held ? this.held.push({ upstream, chunk }) : upstream.write(chunk)));
    upstream.pipe(client);
  }
}
