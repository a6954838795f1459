import { Tally } from './tally.js';

describe(Tally.name, () => {
  it('should count each key up and down and never go below zero', () => {
    const tally = new Tally();
    tally.increment('a');
    tally.increment('a');
    tally.increment('b');
    expect([tally.of('a'), tally.of('b')]).toEqual([2, 1]);
    tally.decrement('a');
    tally.decrement('b');
    tally.decrement('b');
    expect([tally.of('a'), tally.of('b')]).toEqual([1, 0]);
    tally.increment('b');
    expect(tally.of('b')).toBe(1);
  });
});
