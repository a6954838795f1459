import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import type { ErrorResponseDto } from './error-response.dto.js';
import { JsonRpcHttpException } from './json-rpc-http.exception.js';
import { listenerOf } from './listener.js';

interface DescribedError {
  status: number;
  detail: string;
  extra?: Record<string, unknown>;
}

/** Errors raised by Express's body parser before any Nest code runs. */
interface BodyParserError extends Error {
  type: string;
  status: number;
  limit?: number;
}

const isBodyParserError = (error: unknown): error is BodyParserError =>
  typeof error === 'object' && error !== null && typeof (error as BodyParserError).type === 'string' && typeof (error as BodyParserError).status === 'number';

function describeBodyParserError(error: BodyParserError): DescribedError {
  if (error.type === 'entity.too.large') {
    const limit = error.limit === undefined ? 'the size limit' : `the ${error.limit}-byte limit`;
    return { status: HttpStatus.PAYLOAD_TOO_LARGE, detail: `Request body is larger than ${limit}` };
  }
  if (error.type === 'entity.parse.failed') {
    return { status: HttpStatus.BAD_REQUEST, detail: `Malformed JSON in request body: ${error.message}` };
  }
  if (error.status >= 400 && error.status < 500) return { status: error.status, detail: `Unreadable request body (${error.type})` };
  return { status: HttpStatus.INTERNAL_SERVER_ERROR, detail: 'Internal server error' };
}

function describeHttpException(exception: HttpException): DescribedError {
  const status = exception.getStatus();
  if (exception instanceof ThrottlerException) return { status, detail: 'Too many requests; retry after the time in the Retry-After header' };
  const body = exception.getResponse();
  if (typeof body === 'string') return { status, detail: body };
  // Structured bodies (validation errors, the health report) keep their fields beside detail.
  const { detail, message, error: _name, statusCode: _status, ...extra } = body as Record<string, unknown> & { detail?: string; message?: string | string[] };
  const text = detail ?? (Array.isArray(message) ? message.join('; ') : message) ?? exception.message;
  return { status, detail: text, extra };
}

export function describeException(exception: unknown): DescribedError {
  // Nest wraps body-parser failures in an HttpException and keeps the original as the cause.
  const origin = exception instanceof HttpException ? exception.cause : exception;
  if (isBodyParserError(origin)) return describeBodyParserError(origin);
  if (exception instanceof HttpException) return describeHttpException(exception);
  return { status: HttpStatus.INTERNAL_SERVER_ERROR, detail: 'Internal server error' };
}

/** JSON-RPC error codes for HTTP failures on the MCP listener that carry none of their own. */
function jsonRpcCode(status: number): number {
  if (status === HttpStatus.BAD_REQUEST) return -32700;
  if (status >= 500) return -32603;
  return -32000;
}

function jsonRpcError(exception: unknown, described: DescribedError) {
  const own = exception instanceof JsonRpcHttpException ? exception : undefined;
  return { jsonrpc: '2.0', id: own?.jsonRpcId ?? null, error: { code: own?.jsonRpcCode ?? jsonRpcCode(described.status), message: described.detail } };
}

const logger = new Logger('Errors');

/**
 * Answers a failed MCP request with a JSON-RPC error and the matching HTTP status. Used by the
 * filter and by the MCP fast path, which runs outside Express (see McpHttpHandler).
 */
export function writeMcpError(req: IncomingMessage, res: ServerResponse, exception: unknown): void {
  const described = describeException(exception);
  if (described.status >= 500) logger.error({ err: exception, path: req.url }, 'unhandled error');
  // The MCP endpoint has no per-request log line (see logger.options.ts): refusals get one here.
  else logger.warn({ status: described.status, detail: described.detail, ip: req.socket.remoteAddress }, 'MCP request refused');
  if (res.headersSent) return;
  // RFC 6750: a 401 names the scheme the client should use.
  if (described.status === HttpStatus.UNAUTHORIZED) res.setHeader('WWW-Authenticate', 'Bearer');
  res.statusCode = described.status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(jsonRpcError(exception, described)));
}

/**
 * The one place errors become responses. REST clients get {statusCode, detail, errors?}; MCP
 * clients get a JSON-RPC error object with the same HTTP status.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const request = host.switchToHttp().getRequest<Request>();
    if (listenerOf(request) === 'mcp') return writeMcpError(request, response, exception);

    const described = describeException(exception);
    if (described.status >= 500) logger.error({ err: exception, path: request.path }, 'unhandled error');
    if (response.headersSent) return;
    // RFC 6750: a 401 names the scheme the client should use.
    if (described.status === HttpStatus.UNAUTHORIZED) response.setHeader('WWW-Authenticate', 'Bearer');
    const body: ErrorResponseDto = { ...described.extra, statusCode: described.status, detail: described.detail };
    response.status(described.status).json(body);
  }
}
