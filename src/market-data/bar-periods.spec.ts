import { z } from 'zod';
import { MA_FIELD, maArg, requireMaForMaFields, withMovingAverages } from './bar-periods.js';

describe(withMovingAverages.name, () => {
  const bars = (closes: (number | null)[]) => closes.map((close, index) => ({ trade_date: `2026-11-${10 + index}`, close }));

  it('should add the mean of the last N closes, this bar included, null while fewer than N exist', () => {
    const result = withMovingAverages(bars([10, 11, 12, 13]), [2, 3]);
    expect(result.map((bar) => [bar.ma2, bar.ma3])).toEqual([
      [null, null],
      [10.5, null],
      [11.5, 11],
      [12.5, 12],
    ]);
    expect(result[0]).toEqual({ trade_date: '2026-11-10', close: 10, ma2: null, ma3: null });
  });

  it('should round an exact half cent away from zero, whatever the binary value of the closes', () => {
    // (10.01 + 10.02) / 2 = 10.015 exactly in cents; as doubles the sum is 20.029999999999998.
    expect(withMovingAverages(bars([10.01, 10.02]), [2])[1].ma2).toBe(10.02);
    expect(withMovingAverages(bars([0.01, 0.01, 0.02]), [3])[2].ma3).toBe(0.01);
    expect(withMovingAverages(bars([1847.53, 1853.25, 1811.57]), [3])[2].ma3).toBe(1837.45);
  });

  it('should give null for a window holding a NULL close', () => {
    expect(withMovingAverages(bars([10, null, 12, 13]), [2]).map((bar) => bar.ma2)).toEqual([null, null, null, 12.5]);
  });
});

describe('ma arguments', () => {
  const schema = z.object({ ma: maArg, fields: z.array(z.string()).optional() }).superRefine(requireMaForMaFields);
  const issues = (args: unknown) => {
    const parsed = schema.safeParse(args);
    return parsed.success ? [] : parsed.error.issues.map((issue) => [issue.path.join('.'), issue.message]);
  };

  it('should take up to five distinct windows of 2 to 250 bars', () => {
    expect(issues({ ma: [2, 5, 20, 60, 250] })).toEqual([]);
    expect(issues({ ma: [1] })).toEqual([['ma.0', 'Too small: expected number to be >=2']]);
    expect(issues({ ma: [251] })).toEqual([['ma.0', 'Too big: expected number to be <=250']]);
    expect(issues({ ma: [5.5] })).toEqual([['ma.0', 'Invalid input: expected int, received number']]);
    expect(issues({ ma: [2, 3, 4, 5, 6, 7] })).toEqual([['ma', 'Too big: expected array to have <=5 items']]);
    expect(issues({ ma: [5, 5] })).toEqual([['ma', 'Each window length may be named once']]);
  });

  it('should refuse a ma<N> field without N among the windows', () => {
    expect(issues({ ma: [5], fields: ['close', 'ma5', 'ma20'] })).toEqual([['fields.2', 'Field ma20 needs 20 among the ma window lengths']]);
    expect(issues({ fields: ['ma7'] })).toEqual([['fields.0', 'Field ma7 needs 7 among the ma window lengths']]);
  });

  it('should name a moving average only as its column is named (ma5, never ma05: that would come back null)', () => {
    expect(['ma5', 'ma20', 'ma250'].map((name) => MA_FIELD.test(name))).toEqual([true, true, true]);
    expect(['ma05', 'ma007', 'ma0', 'ma', 'ma1000', 'MA5'].map((name) => MA_FIELD.test(name))).toEqual([false, false, false, false, false, false]);
  });
});
