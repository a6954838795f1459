import type { ServerResponse } from 'node:http';

export type JsonRpcId = string | number | null;

/** JSON-RPC error codes: the standard ones this port answers itself, and this service's own. */
export const JSON_RPC_PARSE_ERROR = -32700;
export const JSON_RPC_INVALID_REQUEST = -32600;
export const JSON_RPC_INTERNAL_ERROR = -32603;
/** Transport-level refusals (wrong method, media type or path), as the SDK's transport answers them. */
export const JSON_RPC_TRANSPORT_ERROR = -32000;
export const JSON_RPC_UNAUTHORIZED = -32001;
export const JSON_RPC_FORBIDDEN = -32003;
/** The original service's answer to a call past its quota: -32003 "Quota exhausted", with the quota in data. */
export const JSON_RPC_QUOTA_EXHAUSTED = JSON_RPC_FORBIDDEN;
/** A dependency (ClickHouse, the usage spool) cannot serve the request right now; retry later. */
export const JSON_RPC_UNAVAILABLE = -32010;
/** Too many requests from this client; retry after the Retry-After header. */
export const JSON_RPC_RATE_LIMITED = -32029;

/** An HTTP failure on the MCP port, answered as a JSON-RPC error object that echoes the request id. */
export class JsonRpcHttpException extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly jsonRpcCode: number,
    readonly jsonRpcId: JsonRpcId = null,
    readonly headers: Record<string, string> = {},
    /** The JSON-RPC error's data member, when the refusal has facts a client can act on. */
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'JsonRpcHttpException';
  }
}

/**
 * A refusal answered only after `holdMs`, its body unread: a flooding client's connection waits
 * instead of sending again at once (answering at once only makes a flood faster and, on a small
 * machine, lets its own CPU starve valid traffic). Held refusals are bounded by the connection caps.
 */
export class HeldRefusal extends JsonRpcHttpException {
  constructor(
    readonly holdMs: number,
    ...refusal: ConstructorParameters<typeof JsonRpcHttpException>
  ) {
    super(...refusal);
  }
}

/** Writes the error with its HTTP status; a 401 names the Bearer scheme (RFC 6750). */
export function writeJsonRpcError(res: ServerResponse, error: JsonRpcHttpException): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (error.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res.statusCode = error.status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  const data = error.data === undefined ? {} : { data: error.data };
  res.end(JSON.stringify({ jsonrpc: '2.0', id: error.jsonRpcId, error: { code: error.jsonRpcCode, message: error.message, ...data } }));
}
