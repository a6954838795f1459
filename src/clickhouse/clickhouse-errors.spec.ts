import { StoreUnavailableError, classifyClickHouseError, isConnectionCut, isReplicaFailure, wasNotRun } from './clickhouse-errors.js';

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

describe('isReplicaFailure and wasNotRun (moving to another replica)', () => {
  const serverError = (code: number, text: string) => classifyClickHouseError(new Error(`Code: ${code}, e.displayText() = DB::Exception: ${text}`));

  it('should move on from an unreachable server or one without ZooKeeper, not from a busy one or a bad statement', () => {
    expect(isReplicaFailure(classifyClickHouseError(networkError('ECONNREFUSED')))).toBe(true);
    expect(isReplicaFailure(classifyClickHouseError(networkError('ECONNRESET')))).toBe(true);
    expect(isReplicaFailure(classifyClickHouseError(new Error('Timeout error.')))).toBe(true);
    expect(isReplicaFailure(serverError(242, 'Table is in readonly mode'))).toBe(true);
    expect(isReplicaFailure(serverError(999, 'Session expired'))).toBe(true);
    expect(isReplicaFailure(serverError(225, 'Cannot use ZooKeeper because it is not configured'))).toBe(true);
    expect(isReplicaFailure(serverError(159, 'Timeout exceeded: elapsed 5 seconds'))).toBe(false);
    expect(isReplicaFailure(serverError(241, 'Memory limit (for query) exceeded'))).toBe(false);
    expect(isReplicaFailure(serverError(60, 'Table stock.nope doesn\'t exist'))).toBe(false);
    expect(isReplicaFailure(networkError('ECONNREFUSED'))).toBe(false);
  });

  it('should send a write elsewhere only when it surely did not run', () => {
    expect(wasNotRun(classifyClickHouseError(networkError('ECONNREFUSED')))).toBe(true);
    expect(wasNotRun(classifyClickHouseError(networkError('ENOTFOUND')))).toBe(true);
    expect(wasNotRun(serverError(242, 'Table is in readonly mode'))).toBe(true);
    expect(wasNotRun(serverError(225, 'Cannot use ZooKeeper because it is not configured'))).toBe(true);
    // The request may have reached the server and been stored before the connection died.
    expect(wasNotRun(classifyClickHouseError(networkError('ECONNRESET')))).toBe(false);
    expect(wasNotRun(classifyClickHouseError(new Error('Timeout error.')))).toBe(false);
    expect(wasNotRun(serverError(999, 'Session expired'))).toBe(false);
  });
});
