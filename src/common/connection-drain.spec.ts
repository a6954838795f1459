import { Agent, type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import { type AddressInfo, type Socket, connect } from 'node:net';
import { ConnectionDrain } from './connection-drain.js';

/** Longer than a test may take: a connection that closes was closed by the drain, not by a timeout or the grace. */
const NO_CUT_MS = 60_000;

interface Answer {
  status: number;
  connection: string | undefined;
  body: string;
  socket: Socket;
}

/** A listener whose requests wait in `pending` until the test answers them; `refused` counts late requests. */
async function startServer(): Promise<{ server: Server; drain: ConnectionDrain; pending: ServerResponse[]; refused: { count: number }; port: number }> {
  const pending: ServerResponse[] = [];
  const refused = { count: 0 };
  const server = createServer((_req, res) => void pending.push(res));
  server.keepAliveTimeout = NO_CUT_MS;
  const drain = new ConnectionDrain(server, (res) => {
    refused.count++;
    res.writeHead(503).end('stopping');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, drain, pending, refused, port: (server.address() as AddressInfo).port };
}

/** A raw connection, for pipelined requests; `received` gathers what the server sent. */
async function rawConnection(port: number): Promise<{ socket: Socket; received: () => string }> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined); // a write after the server closed: what is asserted is what the app saw
  await new Promise((resolve) => socket.once('connect', resolve));
  return { socket, received: () => received };
}

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: drain\r\n\r\n`;

/** A GET on a keep-alive connection, resolving once its whole answer arrived. */
function get(port: number, agent: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, agent }, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.once('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body, socket: req.socket! }));
    });
    req.once('error', reject);
    req.end();
  });
}

function closedBy(socket: Socket): Promise<void> {
  return new Promise((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())));
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

describe('ConnectionDrain', () => {
  it('should close at once a connection that has sent no request yet and an idle keep-alive one', async () => {
    const { drain, pending, port } = await startServer();
    const silent = connect(port, '127.0.0.1');
    await new Promise((resolve) => silent.once('connect', resolve));
    const agent = new Agent({ keepAlive: true });
    const answering = get(port, agent);
    await until(() => pending.length === 1);
    pending[0].end('done');
    const idle = (await answering).socket;

    await drain.close(NO_CUT_MS);
    await Promise.all([closedBy(silent), closedBy(idle)]);
    expect([silent.destroyed, idle.destroyed]).toEqual([true, true]);
  });

  it('should let an answer under way finish, telling its client Connection: close, and then close its connection', async () => {
    const { drain, pending, port } = await startServer();
    const answering = get(port, new Agent({ keepAlive: true }));
    await until(() => pending.length === 1);

    const closing = drain.close(NO_CUT_MS);
    pending[0].end('late answer');
    const answer = await answering;
    expect([answer.status, answer.connection, answer.body]).toEqual([200, 'close', 'late answer']);
    await closing;
    await closedBy(answer.socket);
  });

  it('should close the connection of a stream the app ends after the stop began', async () => {
    const { drain, pending, port } = await startServer();
    const answering = get(port, new Agent({ keepAlive: true }));
    await until(() => pending.length === 1);
    pending[0].writeHead(200, { 'Content-Type': 'text/event-stream' }).write('event: endpoint\ndata: /messages\n\n');

    const closing = drain.close(NO_CUT_MS);
    pending[0].end();
    const answer = await answering;
    expect([answer.status, answer.connection, answer.body]).toEqual([200, 'keep-alive', 'event: endpoint\ndata: /messages\n\n']);
    await closing;
    await closedBy(answer.socket);
  });

  it('should not hand the app a request pipelined behind an answer under way once the stop began', async () => {
    const { drain, pending, refused, port } = await startServer();
    const { socket, received } = await rawConnection(port);
    socket.write(GET('/a'));
    await until(() => pending.length === 1);

    const closing = drain.close(NO_CUT_MS);
    socket.write(GET('/b'));
    await until(() => refused.count === 1);
    pending[0].end('answer to a');
    await closing;
    await closedBy(socket);
    expect(pending).toHaveLength(1);
    expect(received()).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*Connection: close\r\n[^]*answer to a/);
  });

  it('should not hand the app a request sent on a connection whose stream ended after the stop began', async () => {
    const { drain, pending, port } = await startServer();
    const { socket, received } = await rawConnection(port);
    socket.write(GET('/stream'));
    await until(() => pending.length === 1);
    pending[0].writeHead(200, { 'Content-Type': 'text/event-stream' }).write('event: endpoint\ndata: /messages\n\n');

    // The client sees the stream end with no Connection: close, so it sends its next request at once.
    socket.on('data', () => received().endsWith('0\r\n\r\n') && socket.write(GET('/b')));
    const closing = drain.close(NO_CUT_MS);
    pending[0].end();
    await closing;
    await closedBy(socket);
    expect(pending).toHaveLength(1);
  });

  it('should cut a connection still answering after the grace period', async () => {
    const { drain, pending, port } = await startServer();
    const agent = new Agent({ keepAlive: true });
    const answering = get(port, agent).catch((error: Error) => error.message);
    await until(() => pending.length === 1);
    pending[0].writeHead(200, { 'Content-Type': 'text/event-stream' }).write('event: endpoint\ndata: /messages\n\n');

    await drain.close(50);
    expect(await answering).toBe('aborted');
    expect(pending[0].writableFinished).toBe(false);
  });
});
