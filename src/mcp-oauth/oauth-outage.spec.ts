import { InvalidGrantError, TemporarilyUnavailableError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { Request, Response } from 'express';
import { StoreUnavailableError } from '../clickhouse/clickhouse-errors.js';
import { available, outageAsServiceUnavailable } from './oauth-outage.js';

/** Just enough of an Express response to see what the middleware makes of a JSON answer. */
function fakeResponse() {
  const sent = { status: 400, headers: {} as Record<string, string>, body: undefined as unknown };
  const res = {
    status(code: number) {
      sent.status = code;
      return res;
    },
    setHeader(name: string, value: string) {
      sent.headers[name] = value;
      return res;
    },
    json(body: unknown) {
      sent.body = body;
      return res;
    },
  };
  return { res: res as unknown as Response, sent };
}

describe('OAuth answers during a database outage', () => {
  it('should turn a database outage into temporarily_unavailable, and leave other errors alone', async () => {
    await expect(available(() => Promise.reject(new StoreUnavailableError(new Error('ECONNREFUSED'))))).rejects.toBeInstanceOf(TemporarilyUnavailableError);
    const grant = new InvalidGrantError('Unknown refresh token');
    await expect(available(() => Promise.reject(grant))).rejects.toBe(grant);
    await expect(available(() => Promise.resolve(7))).resolves.toBe(7);
  });

  it('should answer temporarily_unavailable with 503 and Retry-After, and other OAuth errors as the SDK set them', () => {
    const outage = fakeResponse();
    outageAsServiceUnavailable({} as Request, outage.res, () => undefined);
    outage.res.status(400).json(new TemporarilyUnavailableError('down').toResponseObject());
    expect(outage.sent).toEqual({ status: 503, headers: { 'Retry-After': '5' }, body: { error: 'temporarily_unavailable', error_description: 'down' } });

    const refusal = fakeResponse();
    outageAsServiceUnavailable({} as Request, refusal.res, () => undefined);
    refusal.res.status(400).json(new InvalidGrantError('Unknown refresh token').toResponseObject());
    expect(refusal.sent).toEqual({ status: 400, headers: {}, body: { error: 'invalid_grant', error_description: 'Unknown refresh token' } });
  });
});
