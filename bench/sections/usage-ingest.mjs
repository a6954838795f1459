// Usage-log ingest: records/s the UsageWriter sustains into ClickHouse with durability on.
//
// Placeholder for the lead, to be filled in once the disk spool lands in src/mcp-usage:
// measureUsageIngest(ctx) returns the figures (or null while not implemented) and
// renderUsageIngest(data, ctx) turns them into markdown. ctx carries distDir (the bench's build of
// src/, see lib/dist.mjs importDist/appClickHouse), clickhouse { url, database, pid, client },
// scratchDir, options and the helpers used by the other sections.

/** Not measured yet: the lead fills this in after the usage spool lands. */
export async function measureUsageIngest(_ctx) {
  return null;
}

export function renderUsageIngest(data) {
  if (data === null) return 'Not measured by this bench yet: see lead (pending the durable usage spool).';
  return JSON.stringify(data);
}

export const usageIngest = {
  title: 'Usage-log ingest (durability on)',
  measure: measureUsageIngest,
  render: renderUsageIngest,
};
