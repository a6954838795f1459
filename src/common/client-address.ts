import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';

/** Whether the hop at `address` (the i-th from this server) is a proxy whose X-Forwarded-For we believe. */
export type TrustProxy = (address: string, hop: number) => boolean;

/**
 * TRUST_PROXY as Express's `trust proxy` reads it: false (no proxy: the socket's peer is the
 * client), true (the left-most X-Forwarded-For entry; only behind a proxy that overwrites the
 * header), a hop count, or addresses/subnets/names (loopback, linklocal, uniquelocal). Both
 * listeners use the same compiled function, so the REST throttles and the MCP port agree on who
 * the client is. Throws on a value proxy-addr cannot read.
 */
export function compileTrustProxy(setting: string): TrustProxy {
  const value = setting.trim().toLowerCase();
  if (value === 'false' || value === '') return () => false;
  if (value === 'true') return () => true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return (_address, hop) => hop < hops;
  }
  return proxyAddr.compile(value.split(',').map((part) => part.trim()).filter(Boolean));
}

/** The client's address, as far as the trusted proxies in front of this server can tell. */
export function clientAddress(req: IncomingMessage, trust: TrustProxy): string {
  return proxyAddr(req, trust);
}
