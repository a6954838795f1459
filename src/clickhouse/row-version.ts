let lastVersion = 0;

/**
 * Version for ReplacingMergeTree rows: microseconds since the epoch, strictly increasing within
 * this process so two updates in the same millisecond still order correctly.
 */
export function nextRowVersion(now = Date.now()): number {
  lastVersion = Math.max(now * 1000, lastVersion + 1);
  return lastVersion;
}
