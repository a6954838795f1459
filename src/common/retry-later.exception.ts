import { HttpException, HttpStatus } from '@nestjs/common';

/** A 429 or 503 that tells the client when to come back (the Retry-After header, in seconds). */
export class RetryLaterException extends HttpException {
  constructor(
    status: HttpStatus.TOO_MANY_REQUESTS | HttpStatus.SERVICE_UNAVAILABLE,
    detail: string,
    readonly retryAfterSeconds: number,
  ) {
    super(detail, status);
  }
}
