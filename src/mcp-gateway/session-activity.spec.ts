import { jest } from '@jest/globals';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { SessionActivity } from './session-activity.js';

const request = (id: string | number): JSONRPCMessage => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'search_stocks' } });
const answer = (id: string | number): JSONRPCMessage => ({ jsonrpc: '2.0', id, result: {} });
const failure = (id: string | number): JSONRPCMessage => ({ jsonrpc: '2.0', id, error: { code: -32029, message: 'busy' } });
const cancelled = (requestId: string | number): JSONRPCMessage => ({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId } });
/** Time passes on the fake clock: the timers due within it run. */
const pass = (ms: number) => jest.advanceTimersByTime(ms);

/** A SessionActivity whose idle callbacks are counted. */
function watched(idleMs: number) {
  let idle = 0;
  const activity = new SessionActivity(idleMs, () => idle++);
  return { activity, idleCalls: () => idle };
}

describe(SessionActivity.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('should call onIdle once, idleMs after it started, when nothing happens', () => {
    const { activity, idleCalls } = watched(20);
    expect(activity.secondsUntilIdle()).toBe(1);
    pass(19);
    expect(idleCalls()).toBe(0);
    pass(1);
    expect(idleCalls()).toBe(1);
    pass(100);
    expect(idleCalls()).toBe(1);
  });

  it('should start the idle period again with every post', () => {
    const { activity, idleCalls } = watched(200);
    for (let i = 0; i < 6; i++) {
      pass(50);
      activity.posted();
    }
    pass(199);
    expect(idleCalls()).toBe(0);
    pass(1);
    expect(idleCalls()).toBe(1);
  });

  it('should not go idle while a request waits for its answer, and count the idle period from the answer', () => {
    const { activity, idleCalls } = watched(30);
    activity.received(request(1));
    expect(activity.secondsUntilIdle()).toBeUndefined();
    activity.sent({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'not an answer' } });
    pass(120);
    expect(idleCalls()).toBe(0);
    activity.sent(answer(1));
    expect(activity.secondsUntilIdle()).toBe(1);
    pass(120);
    expect(idleCalls()).toBe(1);
  });

  it('should count a cancelled request as settled (the SDK never answers it), telling 1 from "1"', () => {
    const { activity, idleCalls } = watched(30);
    activity.received(request(1));
    activity.received(request('1'));
    activity.received(cancelled(1));
    pass(120);
    expect(idleCalls()).toBe(0);
    activity.sent(failure('1'));
    pass(120);
    expect(idleCalls()).toBe(1);
  });

  it('should wait for every request that reuses an id', () => {
    const { activity, idleCalls } = watched(30);
    activity.received(request(7));
    activity.received(request(7));
    activity.sent(answer(7));
    pass(120);
    expect(idleCalls()).toBe(0);
    expect(activity.secondsUntilIdle()).toBeUndefined();
    activity.sent(answer(7));
    pass(120);
    expect(idleCalls()).toBe(1);
  });

  it('should ignore what is not a request, and answers to requests it never saw', () => {
    const { activity, idleCalls } = watched(30);
    activity.received({ jsonrpc: '2.0', id: 3, result: {} });
    activity.received('not a message');
    activity.sent(answer(99));
    pass(120);
    expect(idleCalls()).toBe(1);
  });
});
