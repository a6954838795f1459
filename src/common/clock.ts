/**
 * Where "now" comes from for quota periods and usage timestamps. Injected (CLOCK) so that tests
 * can move a running service across a day or month boundary.
 */
export interface Clock {
  now(): Date;
}

export const CLOCK = Symbol('CLOCK');

export const systemClock: Clock = { now: () => new Date() };
