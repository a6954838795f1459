import { StoreUnavailableError, classifyClickHouseError, isConnectionCut } from './clickhouse-errors.js';

const networkError = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

describe('isConnectionCut', () => {
  it('should say yes for a connection that died under a request, and no for a timeout, a refusal or a server error', () => {
    expect(isConnectionCut(classifyClickHouseError(networkError('ECONNRESET')))).toBe(true);
    expect(isConnectionCut(classifyClickHouseError(new Error('socket hang up')))).toBe(true);
    expect(isConnectionCut(classifyClickHouseError(networkError('ECONNREFUSED')))).toBe(false);
    expect(isConnectionCut(classifyClickHouseError(new Error('Timeout error.')))).toBe(false);
    expect(isConnectionCut(new StoreUnavailableError(new Error('Code: 159, e.displayText() = DB::Exception: Timeout exceeded')))).toBe(false);
    expect(isConnectionCut(networkError('ECONNRESET'))).toBe(false);
  });
});
