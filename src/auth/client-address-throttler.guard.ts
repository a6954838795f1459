import { Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { Request } from 'express';

/**
 * The per-address register/login limit, keyed by `req.ip`: the socket's peer, or the client
 * TRUST_PROXY's trusted proxies report. (The library's default takes the first X-Forwarded-For
 * entry, which any client can write.)
 */
@Injectable()
export class ClientAddressThrottlerGuard extends ThrottlerGuard {
  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    return Promise.resolve((req as unknown as Request).ip ?? 'unknown');
  }
}
