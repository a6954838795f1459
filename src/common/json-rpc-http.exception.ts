import { HttpException } from '@nestjs/common';

export type JsonRpcId = string | number | null;

/** JSON-RPC error codes this service uses beside the standard ones. */
export const JSON_RPC_UNAUTHORIZED = -32001;
export const JSON_RPC_FORBIDDEN = -32003;
/** A dependency (ClickHouse, the usage spool) cannot serve the request right now; retry later. */
export const JSON_RPC_UNAVAILABLE = -32010;

/** An HTTP failure on the MCP listener that answers with a JSON-RPC error echoing the request id. */
export class JsonRpcHttpException extends HttpException {
  constructor(
    status: number,
    message: string,
    readonly jsonRpcCode: number,
    readonly jsonRpcId: JsonRpcId = null,
  ) {
    super(message, status);
  }
}
