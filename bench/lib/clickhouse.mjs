// The bench's own reads of ClickHouse (checks, counters), and the housekeeping it waits for so that
// background work does not land in a timing.

export async function queryRows(client, query) {
  const result = await client.query({ query, format: 'JSONEachRow' });
  return result.json();
}

/** The first column of the first row, as a number. */
export async function scalar(client, query) {
  const [row] = await queryRows(client, query);
  return Number(Object.values(row)[0]);
}

/** Waits (bounded) until no merge runs in the bench's database; returns whether it got there. */
export async function waitForMerges(client, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await scalar(client, 'SELECT count() FROM system.merges WHERE database = currentDatabase()')) === 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolveWait) => setTimeout(resolveWait, 250));
  }
}

/** Active parts, partitions and rows of one table. */
export async function tableParts(client, table) {
  const [row] = await queryRows(
    client,
    `SELECT count() AS parts, uniqExact(partition) AS partitions, sum(rows) AS rows FROM system.parts
      WHERE database = currentDatabase() AND table = '${table}' AND active`,
  );
  return { parts: Number(row.parts), partitions: Number(row.partitions), rows: Number(row.rows) };
}
