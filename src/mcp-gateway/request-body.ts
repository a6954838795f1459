import type { IncomingMessage } from 'node:http';
import { JSON_RPC_PARSE_ERROR, JSON_RPC_TRANSPORT_ERROR, JsonRpcHttpException } from './json-rpc-error.js';

const tooLarge = (limit: number) =>
  new JsonRpcHttpException(413, `Request body is larger than the ${limit}-byte limit`, JSON_RPC_TRANSPORT_ERROR, null, { Connection: 'close' });

/**
 * The body as UTF-8 text. A declared Content-Length over the limit is refused before a byte is
 * read, and a chunked body is cut off as soon as it passes the limit, so a request never holds
 * more than `limit` bytes of memory. The rest of a refused body is drained, not kept, and the
 * connection is closed after the answer.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      req.resume();
      return reject(tooLarge(limit));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off('data', onData);
      chunks.length = 0;
      req.resume();
      reject(tooLarge(limit));
    };
    // A client that hangs up mid-body: settle, so nothing waits for an 'end' that never comes. Removed
    // once the body is complete: every request closes, and an Error (with its stack) costs ~20 µs.
    const onClose = () => reject(new Error('the client closed the connection before the body was complete'));
    req.on('data', onData);
    req.once('end', () => {
      req.off('close', onClose);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.once('error', reject);
    req.once('close', onClose);
  });
}

/** The parsed JSON body; malformed JSON is a JSON-RPC parse error (400). */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const text = await readBody(req, limit);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new JsonRpcHttpException(400, `Parse error: malformed JSON in request body (${(error as Error).message.slice(0, 200)})`, JSON_RPC_PARSE_ERROR);
  }
}
