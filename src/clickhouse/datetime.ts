/** Reads a ClickHouse DateTime('UTC') text value ('YYYY-MM-DD hh:mm:ss') as a Date. */
export function parseClickHouseDateTime(value: string): Date {
  return new Date(`${value.replace(' ', 'T')}Z`);
}

/** ISO-8601 with a Z suffix and no milliseconds, the form the REST API returns. */
export function toIsoSeconds(value: Date): string {
  return value.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function toIsoSecondsOrNull(value: Date | null): string | null {
  return value === null ? null : toIsoSeconds(value);
}
