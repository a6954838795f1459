import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { StoreSchemaError, StoreUnavailableError } from './clickhouse/clickhouse-errors.js';
import type { ErrorResponseDto } from './common/error-response.dto.js';
import { logOnce } from './common/log-once.js';
import { RetryLaterException } from './common/retry-later.exception.js';

interface DescribedError {
  status: number;
  detail: string;
  extra?: Record<string, unknown>;
  retryAfterSeconds?: number;
}

/** How long a client should wait before retrying while the database does not answer. */
export const STORE_RETRY_AFTER_SECONDS = 5;

/** Errors raised by Express's body parser before any Nest code runs. */
interface BodyParserError extends Error {
  type: string;
  status: number;
  limit?: number;
}

const isBodyParserError = (error: unknown): error is BodyParserError =>
  typeof error === 'object' && error !== null && typeof (error as BodyParserError).type === 'string' && typeof (error as BodyParserError).status === 'number';

function describeBodyParserError(error: BodyParserError): DescribedError {
  if (error.type === 'entity.too.large') return { status: HttpStatus.PAYLOAD_TOO_LARGE, detail: `Request body is larger than the ${error.limit}-byte limit` };
  if (error.type === 'entity.parse.failed') return { status: HttpStatus.BAD_REQUEST, detail: `Malformed JSON in request body: ${error.message}` };
  if (error.type === 'charset.unsupported' || error.type === 'encoding.unsupported') {
    return { status: HttpStatus.UNSUPPORTED_MEDIA_TYPE, detail: 'Request body must be JSON in UTF-8' };
  }
  if (error.status >= 400 && error.status < 500) return { status: error.status, detail: `Unreadable request body (${error.type})` };
  return { status: HttpStatus.INTERNAL_SERVER_ERROR, detail: 'Internal server error' };
}

function describeHttpException(exception: HttpException): DescribedError {
  const status = exception.getStatus();
  if (exception instanceof ThrottlerException) return { status, detail: 'Too many requests; retry after the time in the Retry-After header' };
  const retryAfterSeconds = exception instanceof RetryLaterException ? exception.retryAfterSeconds : undefined;
  const body = exception.getResponse();
  if (typeof body === 'string') return { status, detail: body, retryAfterSeconds };
  // Structured bodies (validation errors) keep their fields beside detail.
  const { detail, message, error: _name, statusCode: _status, ...extra } = body as Record<string, unknown> & { detail?: string; message?: string | string[] };
  const text = detail ?? (Array.isArray(message) ? message.join('; ') : message) ?? exception.message;
  return { status, detail: text, extra, retryAfterSeconds };
}

function describeException(exception: unknown): DescribedError {
  // Nest wraps body-parser failures in an HttpException and keeps the original as the cause.
  const origin = exception instanceof HttpException ? exception.cause : exception;
  if (isBodyParserError(origin)) return describeBodyParserError(origin);
  if (exception instanceof HttpException) return describeHttpException(exception);
  if (exception instanceof StoreUnavailableError) {
    return { status: HttpStatus.SERVICE_UNAVAILABLE, detail: 'The database is not answering; try again shortly', retryAfterSeconds: STORE_RETRY_AFTER_SECONDS };
  }
  if (exception instanceof StoreSchemaError) {
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, detail: `The database schema does not match what this service needs (${exception.detail}); an operator must fix it` };
  }
  return { status: HttpStatus.INTERNAL_SERVER_ERROR, detail: 'Internal server error' };
}

const logger = new Logger('Errors');

function logServerError(exception: unknown, path: string): void {
  if (exception instanceof StoreUnavailableError) logger.warn({ err: exception.cause, path }, 'database unavailable');
  else if (exception instanceof StoreSchemaError) logOnce(logger, exception.detail, { path }, exception.message);
  else logger.error({ err: exception, path }, 'unhandled error');
}

/** The one place REST errors become responses: {statusCode, detail, errors?} with the real status. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const request = host.switchToHttp().getRequest<Request>();
    const described = describeException(exception);
    if (described.status >= 500) logServerError(exception, request.path);
    if (response.headersSent) return;
    // RFC 6750: a 401 names the scheme the client should use.
    if (described.status === 401) response.setHeader('WWW-Authenticate', 'Bearer');
    if (described.retryAfterSeconds !== undefined) response.setHeader('Retry-After', String(described.retryAfterSeconds));
    const body: ErrorResponseDto = { ...described.extra, statusCode: described.status, detail: described.detail };
    response.status(described.status).json(body);
  }
}
