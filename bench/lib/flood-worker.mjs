// A separate process that keeps IN_FLIGHT tools/list requests with distinct random API keys in
// flight against URL for SECONDS, then prints {sent, statuses, seconds} as JSON (statuses.error: connections closed on it). Run apart from
// the load generator so the two do not share a CPU budget inside one event loop, and from its own
// loopback address (127.0.0.2): the stranger is not the valid clients' machine.
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { Agent, request } from 'node:http';

const [url, seconds, inFlight, sockets] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])];
const agent = new Agent({ keepAlive: true, maxSockets: sockets });
const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
const statuses = {};
let sent = 0;
// Requests still waiting at the deadline (a gateway that holds throttled requests keeps many) are
// abandoned then, not waited for.
const stop = new AbortController();
setMaxListeners(0, stop.signal); // one listener per request in flight

function once() {
  return new Promise((resolve) => {
    const req = request(url, {
      method: 'POST',
      agent,
      localAddress: '127.0.0.2',
      signal: stop.signal,
      headers: { 'content-type': 'application/json', authorization: `Bearer sk-${randomBytes(32).toString('hex')}`, 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      res.resume();
      res.on('end', () => {
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        resolve();
      });
    });
    req.on('error', () => {
      if (!stop.signal.aborted) statuses.error = (statuses.error ?? 0) + 1;
      resolve();
    });
    req.end(body);
  });
}

const started = performance.now();
const deadline = Date.now() + seconds * 1000;
setTimeout(() => stop.abort(), seconds * 1000);
await Promise.all(
  Array.from({ length: inFlight }, async () => {
    while (Date.now() < deadline && !stop.signal.aborted) {
      sent++;
      await once();
    }
  }),
);
agent.destroy();
console.log(JSON.stringify({ sent, statuses, seconds: (performance.now() - started) / 1000 }));
