import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';
import { pollUntil } from '../../scripts/lib/poll.mjs';
import { clickHouseUrl } from './clickhouse.js';
import { type TestApp, startTestApp } from './test-app.js';

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
  /** What is held, while holding; a connection stays held from its first such chunk on (its request is not complete). */
  private holding: RegExp | undefined;
  private readonly heldConnections = new Set<Socket>();

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

  /**
   * Holds the requests that match `pattern` (say, a tool's query); the gateway's other queries (key
   * checks, change polls, usage inserts) go on, or a test would depend on when they happen.
   */
  hold(pattern: RegExp): void {
    this.held ??= [];
    this.holding = pattern;
  }

  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    this.holding = undefined;
    this.heldConnections.clear();
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
    client.on('data', (chunk: Buffer) => {
      if (this.held && this.holding && (this.heldConnections.has(upstream) || this.holding.test(chunk.toString('latin1')))) {
        this.heldConnections.add(upstream);
        this.held.push({ upstream, chunk });
      } else {
        upstream.write(chunk);
      }
    });
    upstream.pipe(client);
  }
}

/**
 * A gateway whose ClickHouse traffic passes through a relay the test can hold. Its market data
 * cache is off unless `env` turns it on: a held call must wait for its own query, not be answered
 * from the cache or share an identical call's query.
 */
export interface AppBehindRelay {
  app: TestApp;
  relay: ClickHouseRelay;
  /** Stops the gateway, then the relay (also when the gateway's stop fails). */
  stop(): Promise<void>;
}

export async function startAppBehindRelay(env: Record<string, string>): Promise<AppBehindRelay> {
  const relay = await ClickHouseRelay.start();
  const app = await startTestApp({ MARKET_CACHE_MAX_BYTES: '0', ...env, CLICKHOUSE_URL: relay.url }, { viaSharedClickHouse: true });
  const stop = async () => {
    try {
      await app.stop();
    } finally {
      await relay.close();
    }
  };
  return { app, relay, stop };
}
