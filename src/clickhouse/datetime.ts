/** Seconds since the epoch, the form DateTime columns are written in: independent of the server's and the column's time zone. */
export function unixSeconds(value: Date): number {
  return Math.floor(value.getTime() / 1000);
}

/** A DateTime read as `toUnixTimestamp(column)` (a number, or null for a NULL). */
export function fromUnixSeconds(value: number | string): Date {
  return new Date(Number(value) * 1000);
}

export function fromUnixSecondsOrNull(value: number | string | null): Date | null {
  return value === null ? null : fromUnixSeconds(value);
}

export function unixSecondsOrNull(value: Date | null): number | null {
  return value === null ? null : unixSeconds(value);
}

/** ISO-8601 with a Z suffix and no milliseconds, the form the REST API returns. */
export function toIsoSeconds(value: Date): string {
  return value.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function toIsoSecondsOrNull(value: Date | null): string | null {
  return value === null ? null : toIsoSeconds(value);
}

/**
 * The updated_at of a row's next version: now, but always after the version it replaces, since
 * the original's tables order versions by this second-precision column.
 */
export function nextVersionTime(previous: Date | undefined, now = new Date()): Date {
  const seconds = Math.max(unixSeconds(now), previous ? unixSeconds(previous) + 1 : 0);
  return new Date(seconds * 1000);
}
