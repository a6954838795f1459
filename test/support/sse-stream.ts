import { pollUntil } from '../../scripts/lib/poll.mjs';
import type { TestApp } from './test-app.js';

interface SseEvent {
  event: string;
  data: string;
}

/** What GET /sse answered: a stream when it opened (200), else the refusal's JSON body. */
export interface SseOpening {
  status: number;
  headers: Headers;
  stream?: SseStream;
  body?: unknown;
}

/**
 * A legacy HTTP+SSE session read from the raw stream, as a 2024-11-05 client would: every event
 * the server sends is kept, so a test can tell what arrived and what did not.
 */
export class SseStream {
  readonly events: SseEvent[] = [];
  /** Resolves when the server ends the stream (or the test closes it). */
  readonly ended: Promise<void>;
  private isEnded = false;

  private constructor(
    private readonly app: TestApp,
    body: ReadableStream<Uint8Array>,
    private readonly abort: AbortController,
  ) {
    this.ended = this.read(body).finally(() => (this.isEnded = true));
  }

  /** Opens GET /sse with `apiKey`; a stream resolves once the server announced its endpoint. */
  static async open(app: TestApp, apiKey: string): Promise<SseOpening> {
    const abort = new AbortController();
    const response = await fetch(`${app.mcpUrl}/sse`, { headers: { Authorization: `Bearer ${apiKey}` }, signal: abort.signal });
    if (response.status !== 200 || !response.body) return { status: response.status, headers: response.headers, body: await response.json() };
    const stream = new SseStream(app, response.body, abort);
    await pollUntil(() => stream.events.length, (n) => n > 0, { timeoutMs: 5_000, intervalMs: 10 });
    return { status: 200, headers: response.headers, stream };
  }

  /** Opens a session that must open. */
  static async opened(app: TestApp, apiKey: string): Promise<SseStream> {
    const opening = await SseStream.open(app, apiKey);
    if (!opening.stream) throw new Error(`GET /sse answered ${opening.status}: ${JSON.stringify(opening.body)}`);
    return opening.stream;
  }

  get isOpen(): boolean {
    return !this.isEnded;
  }

  /** The path and query the server announced (`/messages?sessionId=…`). */
  get endpoint(): string {
    const announced = this.events.find((event) => event.event === 'endpoint');
    if (!announced) throw new Error('the stream announced no endpoint');
    return announced.data;
  }

  /** The JSON-RPC messages that came down the stream, in order. */
  get messages(): Record<string, unknown>[] {
    return this.events.filter((event) => event.event === 'message').map((event) => JSON.parse(event.data) as Record<string, unknown>);
  }

  /** Posts a message to the session, with `apiKey` when given. */
  post(body: unknown, apiKey?: string) {
    const request = this.app.mcp.post(this.endpoint).set('Content-Type', 'application/json');
    if (apiKey) request.set('Authorization', `Bearer ${apiKey}`);
    return request.send(JSON.stringify(body));
  }

  /** The message that answers `id`, once it came down the stream. */
  async answerTo(id: string | number, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const answer = () => this.messages.find((message) => message.id === id && ('result' in message || 'error' in message));
    const found = await pollUntil(answer, (message) => message !== undefined, { timeoutMs, intervalMs: 10 });
    if (!found) throw new Error(`no answer to ${JSON.stringify(id)} came down the stream within ${timeoutMs} ms`);
    return found;
  }

  close(): Promise<void> {
    this.abort.abort();
    return this.ended;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let text = '';
    try {
      for await (const chunk of body) {
        text += decoder.decode(chunk, { stream: true });
        for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
          this.events.push(parseEvent(text.slice(0, end)));
          text = text.slice(end + 2);
        }
      }
    } catch {
      // Aborted by close(): the stream ends here.
    }
  }
}

function parseEvent(block: string): SseEvent {
  const field = (name: string) =>
    block
      .split('\n')
      .filter((line) => line.startsWith(`${name}:`))
      .map((line) => line.slice(name.length + 1).trimStart())
      .join('\n');
  return { event: field('event') || 'message', data: field('data') };
}
