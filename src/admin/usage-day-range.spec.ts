import { BadRequestException } from '@nestjs/common';
import { resolveDayRange } from './usage-day-range.js';

const NOW = new Date('2026-11-25T23:30:00Z');

/** The response body the exception becomes, or undefined when nothing was thrown. */
function refusal(query: Parameters<typeof resolveDayRange>[0]): unknown {
  try {
    resolveDayRange(query, NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);
    return (error as BadRequestException).getResponse();
  }
  return undefined;
}

describe('resolveDayRange', () => {
  it('should default to the last 30 UTC days, today included', () => {
    expect(resolveDayRange({}, NOW)).toEqual({
      startDate: '2026-10-27',
      endDate: '2026-11-25',
      from: new Date('2026-10-27T00:00:00Z'),
      until: new Date('2026-11-26T00:00:00Z'),
    });
  });

  it('should take both days as given, the end day included', () => {
    expect(resolveDayRange({ start_date: '2026-02-01', end_date: '2026-02-01' }, NOW)).toEqual({
      startDate: '2026-02-01',
      endDate: '2026-02-01',
      from: new Date('2026-02-01T00:00:00Z'),
      until: new Date('2026-02-02T00:00:00Z'),
    });
  });

  it('should count 30 days back from a given end_date, not before 1970-01-01', () => {
    expect(resolveDayRange({ end_date: '2026-03-01' }, NOW).startDate).toBe('2026-01-31');
    expect(resolveDayRange({ end_date: '1970-01-10' }, NOW)).toMatchObject({ startDate: '1970-01-01', from: new Date(0) });
  });

  it('should end today when only start_date is given', () => {
    expect(resolveDayRange({ start_date: '2026-11-01' }, NOW)).toMatchObject({ startDate: '2026-11-01', endDate: '2026-11-25' });
  });

  it('should reach the last day a Date holds, its end still a storable DateTime', () => {
    expect(resolveDayRange({ start_date: '2105-12-01', end_date: '2105-12-31' }, NOW).until).toEqual(new Date('2106-01-01T00:00:00Z'));
  });

  it('should accept 366 days and refuse 367, naming end_date', () => {
    expect(resolveDayRange({ start_date: '2024-01-01', end_date: '2024-12-31' }, NOW).endDate).toBe('2024-12-31');
    const message = 'start_date to end_date spans 367 days; at most 366 are allowed';
    expect(refusal({ start_date: '2024-01-01', end_date: '2025-01-01' })).toEqual({ detail: `Validation failed: ${message}`, errors: [{ field: 'end_date', messages: [message] }] });
  });

  it('should refuse an end before the start, naming end_date', () => {
    const message = 'end_date 2026-01-01 is before start_date 2026-01-02';
    expect(refusal({ start_date: '2026-01-02', end_date: '2026-01-01' })).toEqual({ detail: `Validation failed: ${message}`, errors: [{ field: 'end_date', messages: [message] }] });
  });

  it('should name start_date when only it was sent and today is the end', () => {
    const future = 'end_date 2026-11-25 is before start_date 2026-12-01 (end_date defaults to today, UTC)';
    expect(refusal({ start_date: '2026-12-01' })).toEqual({ detail: `Validation failed: ${future}`, errors: [{ field: 'start_date', messages: [future] }] });
    const old = 'start_date to end_date spans 1060 days; at most 366 are allowed (end_date defaults to today, UTC)';
    expect(refusal({ start_date: '2024-01-01' })).toEqual({ detail: `Validation failed: ${old}`, errors: [{ field: 'start_date', messages: [old] }] });
  });
});
