import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { join, sql, str } from '../clickhouse/sql.js';

/** What one server said of the tables' active parts. */
export interface PartsSnapshot {
  /** hostName() of the server that answered. */
  host: string;
  /** table -> fingerprint of its active parts; a table without parts is absent. */
  fingerprints: ReadonlyMap<string, string>;
}

/**
 * Tells which tables changed since the last look, from their active parts (system.parts). Part
 * names change on every insert, re-ingest, mutation (ALTER … DELETE/UPDATE renames every part it
 * touches) and partition operation; a merge renames parts too (one harmless extra invalidation).
 * Counts, rows and the newest modification time are folded in as well, for a table dropped and
 * created again, whose block numbers start over, and the bytes on disk, for an ALTER that
 * rewrites columns of the parts (DROP COLUMN) without a new part name.
 *
 * system.parts is per server, and behind a replica list or a load balancer the checks and the
 * reads may reach different replicas, each catching up with the others at its own pace. So each
 * server's view is compared only with that same server's last view: a server never seen before
 * counts as a change of everything, and a replica that fetches a part another got earlier shows
 * the change when it is next asked.
 */
export class TableChangeWatcher {
  private readonly lastSeen = new Map<string, string>();

  constructor(private readonly clickhouse: ClickHouseService) {}

  /** One query for all `tables`: their parts' fingerprints on the server that answers. */
  async snapshot(tables: readonly string[]): Promise<PartsSnapshot> {
    const [row] = await this.clickhouse.query<{ host: string; tables: string[]; fingerprints: string[] }>(sql`
      SELECT hostName() AS host, groupArray(table) AS tables, groupArray(fingerprint) AS fingerprints
      FROM (
        SELECT table, concat(toString(count()), '/', toString(sum(rows)), '/', toString(sum(cityHash64(name))), '/', toString(sum(bytes_on_disk)), '/',
          toString(max(modification_time))) AS fingerprint
        FROM system.parts
        WHERE database = ${str(this.clickhouse.database)} AND active AND table IN (${join(tables.map(str), ', ')})
        GROUP BY table
      )`);
    return { host: row.host, fingerprints: new Map(row.tables.map((table, index) => [table, row.fingerprints[index]])) };
  }

  /** Of `tables`, those whose parts on the snapshot's server differ from that server's last snapshot. */
  changedSince(tables: readonly string[], snapshot: PartsSnapshot): Set<string> {
    const changed = new Set<string>();
    for (const table of tables) {
      const seenKey = `${snapshot.host}\n${table}`;
      const fingerprint = snapshot.fingerprints.get(table) ?? 'no parts';
      if (this.lastSeen.get(seenKey) !== fingerprint) changed.add(table);
      this.lastSeen.set(seenKey, fingerprint);
    }
    return changed;
  }
}
