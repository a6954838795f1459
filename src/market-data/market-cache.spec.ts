import { ENTRY_OVERHEAD_BYTES, answerSize } from './market-cache.js';

describe('answerSize', () => {
  it('should count an answer as its rows JSON, its key and the entry it takes, so empty answers cannot fill the heap', () => {
    const key = 'search_stocks\n{"limit":10,"query":"zzz"}';
    expect(answerSize([], key)).toBe(ENTRY_OVERHEAD_BYTES + key.length + 2);
    expect(answerSize([{ ts_code: '600519.SH', close: 1510.5 }], 'k')).toBe(ENTRY_OVERHEAD_BYTES + 1 + '[{"ts_code":"600519.SH","close":1510.5}]'.length);
    // 64 MiB holds at most about 260,000 empty answers, not 33 million.
    expect(Math.floor((64 * 1024 * 1024) / answerSize([], key))).toBeLessThan(262_144);
  });
});
