import { round2 } from './adjustment.js';

describe(round2.name, () => {
  it.each([
    // 42.75 × 14.34 is 613.03499999999997 in binary: Python's '%.2f' (pro_bar) writes 613.03.
    [42.75 * 14.34, 613.03],
    [1431 * 8.305, 11884.45],
    [0.125, 0.12],
    [0.375, 0.38],
    [2.675, 2.67],
    [16.853, 16.85],
    [-0.005, -0.01],
    [-0.125, -0.12],
    [0.625, 0.62],
    [1.005, 1],
    [10, 10],
  ])('should round %s to %s as %%.2f does', (value, expected) => {
    expect(round2(value)).toBe(expected);
  });
});
