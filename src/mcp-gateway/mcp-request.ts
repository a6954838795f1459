import type { JsonRpcId } from './json-rpc-error.js';

interface JsonRpcMessage {
  id?: JsonRpcId;
  method?: unknown;
}

/** The messages of a POST body: one JSON-RPC message or a batch. */
export function messagesOf(body: unknown): JsonRpcMessage[] {
  const items = Array.isArray(body) ? body : [body];
  return items.filter((item): item is JsonRpcMessage => typeof item === 'object' && item !== null);
}

/** A request (a method and an id), not a notification or a response. */
const isRequest = (message: JsonRpcMessage) => typeof message.method === 'string' && message.id !== undefined;

/** The first request of a body, whose id a refusal of the whole body echoes. */
export function firstRequest(body: unknown): JsonRpcMessage | undefined {
  return messagesOf(body).find(isRequest);
}

/**
 * The first message that needs an API key on the stateless endpoint: any request except
 * `initialize`. Notifications (no id) and responses carry no method call that reads data, so they
 * pass like initialize does.
 */
export function firstRequestNeedingKey(body: unknown): JsonRpcMessage | undefined {
  return messagesOf(body).find((message) => isRequest(message) && message.method !== 'initialize');
}

/**
 * An id used by two requests of one batch: their answers could not be told apart, yet both would
 * run (and be recorded), so such a batch is refused whole.
 */
export function repeatedRequestId(body: unknown): JsonRpcId | undefined {
  if (!Array.isArray(body)) return undefined;
  const seen = new Set<string>();
  for (const message of messagesOf(body)) {
    if (!isRequest(message)) continue;
    const key = JSON.stringify(message.id);
    if (seen.has(key)) return message.id;
    seen.add(key);
  }
  return undefined;
}

export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

/** The tool a request body calls when it is a single tools/call request (not a batch). */
export function loneToolCall(body: unknown): { id: JsonRpcId; name: string } | undefined {
  if (Array.isArray(body) || typeof body !== 'object' || body === null) return undefined;
  const message = body as { id?: JsonRpcId; method?: unknown; params?: { name?: unknown } };
  if (message.method !== 'tools/call' || message.id === undefined) return undefined;
  return { id: message.id, name: typeof message.params?.name === 'string' ? message.params.name : '' };
}
