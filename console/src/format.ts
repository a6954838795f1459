/**
 * A timestamp from the API (ISO 8601) in the reader's locale, in UTC like every date filter and
 * the daily figures, so a call never seems to fall outside the day it is counted in.
 */
export function formatTime(iso: string): string {
  return `${new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' })} UTC`;
}

export function formatNumber(value: number): string {
  return value.toLocaleString();
}

/** YYYY-MM-DD of a day `daysAgo` before today (UTC), as the API's date parameters take it. */
export function isoDay(daysAgo = 0): string {
  return new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
}
