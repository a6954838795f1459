/**
 * What a failed ClickHouse request means for the caller. Three answers matter: try again later
 * (the store is down, slow or busy), the schema is not what the code expects (an operator must
 * act; retrying changes nothing), or the data itself was refused. Everything else is a bug.
 */

/** ClickHouse cannot answer right now; the same request may succeed later (REST 503, MCP "try again"). */
export class StoreUnavailableError extends Error {
  constructor(override readonly cause: unknown) {
    super(`the database did not answer: ${describe(cause)}`);
    this.name = 'StoreUnavailableError';
  }
}

/** A table or column the code reads is missing or has another shape. */
export class StoreSchemaError extends Error {
  constructor(readonly detail: string) {
    super(`the database schema does not match: ${detail}`);
    this.name = 'StoreSchemaError';
  }
}

/** The server refused the data of an insert or a value in a query; resending it fails the same way. */
export class StoreRejectedDataError extends Error {
  constructor(readonly detail: string) {
    super(`the database refused the data: ${detail}`);
    this.name = 'StoreRejectedDataError';
  }
}

/** Server error codes (ErrorCodes.cpp) whose meaning is "retry later". */
const UNAVAILABLE_CODES = new Set([
  '159', // TIMEOUT_EXCEEDED (max_execution_time)
  '160', // TOO_SLOW
  '164', // READONLY
  '202', // TOO_MANY_SIMULTANEOUS_QUERIES
  '203', // NO_FREE_CONNECTION
  '209', // SOCKET_TIMEOUT
  '225', // NO_ZOOKEEPER
  '210', // NETWORK_ERROR
  '241', // MEMORY_LIMIT_EXCEEDED
  '242', // TABLE_IS_READ_ONLY (ZooKeeper away)
  '252', // TOO_MANY_PARTS
  '319', // UNKNOWN_STATUS_OF_INSERT
  '394', // QUERY_WAS_CANCELLED
  '425', // SYSTEM_ERROR
  '999', // KEEPER_EXCEPTION
]);

/** Codes that mean a table, column or database the statement names is not there. */
const SCHEMA_CODES = new Set([
  '16', // NO_SUCH_COLUMN_IN_TABLE
  '47', // UNKNOWN_IDENTIFIER ("Missing columns" on current releases)
  '60', // UNKNOWN_TABLE
  '81', // UNKNOWN_DATABASE
]);

/** Codes that mean "this data can never be inserted or compared", as opposed to "try again". */
const REJECTED_DATA_CODES = new Set(['6', '25', '26', '27', '38', '41', '53', '69', '72', '117', '130', '131']);

/** Socket-level failures of the HTTP connection to ClickHouse (or to a proxy in front of it). */
const NETWORK_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/** The server's error code, from the client's ClickHouseError or from the text ("Code: 47, e.displayText() = ..."). */
export function clickHouseErrorCode(error: unknown): string | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && /^\d+$/.test(code)) return code;
  return typeof message === 'string' ? /^Code: (\d+)/.exec(message)?.[1] : undefined;
}

/** The human part of a server message: "Unknown identifier: exchange", without the code and the query text. */
function serverMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const displayed = /DB::Exception: (.*?)(?:, e\.what\(\)|\s*\([A-Z_]{3,}\)|$)/s.exec(text)?.[1] ?? text;
  // Current releases append the query ("while processing query: ..."); it may carry user input.
  return displayed.replace(/\s*(while processing query|, required columns).*$/s, '').slice(0, 300);
}

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 300);
}

function isNetworkFailure(error: unknown): boolean {
  const { code, message, name } = (error ?? {}) as { code?: unknown; message?: unknown; name?: unknown };
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
  if (name === 'AbortError' || name === 'TimeoutError') return true;
  // The client's own request timeout, a socket closed mid-response, or a proxy with no backend.
  return typeof message === 'string' && /^(Timeout error\.|socket hang up|The user aborted a request|.*\b(502|503|504) (Bad Gateway|Service Unavailable|Gateway Time-out))/i.test(message);
}

/**
 * The connection died under a request that had reached the server (a replica killed behind a
 * proxy): unlike a timeout, asking again at once costs nothing and may reach another replica.
 */
export function isConnectionCut(error: unknown): boolean {
  if (!(error instanceof StoreUnavailableError)) return false;
  const { code, message } = (error.cause ?? {}) as { code?: unknown; message?: unknown };
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET' || (typeof message === 'string' && /^socket hang up/i.test(message));
}

/** Server codes of a replica that cannot take writes or coordinate now (its ZooKeeper is away), while another may. */
const REPLICA_AWAY_CODES = new Set(['225', '242', '999']);
/** Socket failures raised before a request was sent: asking another server cannot run it twice. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * The server itself is unreachable or cannot serve (not the statement's fault, not a busy server
 * refusing one heavy query): another replica should be asked.
 */
export function isReplicaFailure(error: unknown): boolean {
  if (!(error instanceof StoreUnavailableError)) return false;
  const code = clickHouseErrorCode(error.cause);
  return code === undefined ? isNetworkFailure(error.cause) : REPLICA_AWAY_CODES.has(code);
}

/** The request never reached a server (or the server refused it before running it): a write may be sent elsewhere. */
export function wasNotRun(error: unknown): boolean {
  if (!(error instanceof StoreUnavailableError)) return false;
  const { code } = (error.cause ?? {}) as { code?: unknown };
  if (typeof code === 'string' && NOT_SENT_CODES.has(code)) return true;
  const serverCode = clickHouseErrorCode(error.cause);
  return serverCode === '225' || serverCode === '242';
}

/** Turns whatever the client threw into one of the errors above; unknown failures pass unchanged. */
export function classifyClickHouseError(error: unknown): unknown {
  if (error instanceof StoreUnavailableError || error instanceof StoreSchemaError || error instanceof StoreRejectedDataError) return error;
  const code = clickHouseErrorCode(error);
  if (code !== undefined) {
    if (UNAVAILABLE_CODES.has(code)) return new StoreUnavailableError(error);
    if (SCHEMA_CODES.has(code)) return new StoreSchemaError(serverMessage(error));
    if (REJECTED_DATA_CODES.has(code)) return new StoreRejectedDataError(serverMessage(error));
    return error;
  }
  return isNetworkFailure(error) ? new StoreUnavailableError(error) : error;
}
