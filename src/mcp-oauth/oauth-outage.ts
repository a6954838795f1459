import { Logger } from '@nestjs/common';
import { OAuthError, TemporarilyUnavailableError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { NextFunction, Request, Response } from 'express';
import { StoreUnavailableError } from '../clickhouse/clickhouse-errors.js';

const RETRY_AFTER_SECONDS = 5;

const logger = new Logger('McpOAuth');

/**
 * A database outage becomes the OAuth error `temporarily_unavailable`. The SDK's handlers answer
 * any other unexpected error with a 500 and log nothing, so it is logged here.
 */
export async function available<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw new TemporarilyUnavailableError('The service cannot reach its database right now; try again shortly');
    if (!(error instanceof OAuthError)) logger.error({ err: error }, 'OAuth request failed');
    throw error;
  }
}

/** The SDK's handlers send every OAuth error as 400; an outage is a 503 with Retry-After here, like everywhere else. */
export function outageAsServiceUnavailable(_req: Request, res: Response, next: NextFunction): void {
  const json = res.json.bind(res);
  res.json = (body: unknown) => {
    if ((body as { error?: unknown } | null)?.error === TemporarilyUnavailableError.errorCode) {
      res.status(503).setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    }
    return json(body);
  };
  next();
}
