import { Injectable, Logger } from '@nestjs/common';
import { ClickHouseService } from '../clickhouse.service.js';
import { StoreRejectedDataError, StoreSchemaError } from '../clickhouse-errors.js';
import { type Sql, columnType, ident, join, replicatedEngine, sql, str, withoutLowCardinality } from '../sql.js';
import { familyOf, unwrapType } from './column-types.js';
import { type AdoptedTable, type ColumnSpec, SchemaMismatchError, type TableSpec } from './table-spec.js';

interface ExistingTable {
  engine: string;
  engineFull: string;
  columns: Map<string, string>;
  defaults: Set<string>;
}

interface Registration {
  spec: TableSpec;
  /** Runs once the table is adopted (e.g. to build a view that reads it). */
  onAdopted?: (table: AdoptedTable) => Promise<void>;
}

/**
 * Adopts the tables the service uses, never breaking them: each module registers the tables it
 * reads and writes (TableSpec); at start-up a missing table is created in its owner's shape, an
 * existing one is checked (engine, columns, types), missing columns that may be added are added
 * (checked against system.columns first: 18.16 has no ADD COLUMN IF NOT EXISTS), and anything
 * else wrong stops the start with a SchemaMismatchError naming the table, the column and what to
 * do. Nothing is ever dropped, renamed or rewritten.
 */
@Injectable()
export class SchemaService {
  private readonly logger = new Logger(SchemaService.name);
  private readonly registrations: Registration[] = [];
  private readonly adopted = new Map<string, AdoptedTable>();

  constructor(private readonly clickhouse: ClickHouseService) {}

  register(spec: TableSpec, onAdopted?: (table: AdoptedTable) => Promise<void>): void {
    if (this.registrations.some((registration) => registration.spec.name === spec.name)) return;
    this.registrations.push({ spec, onAdopted });
  }

  /** Creates, checks and extends every registered table, then runs their follow-ups. */
  async adoptAll(): Promise<AdoptedTable[]> {
    await this.clickhouse.ensureDatabase();
    const specs = this.registrations.map((registration) => registration.spec);
    const existing = await this.describe(specs.map((spec) => spec.name));
    const lowCardinality = await this.supportsLowCardinality();
    const problems = specs.flatMap((spec) => (existing.has(spec.name) ? problemsWith(spec, existing.get(spec.name)!) : []));
    if (problems.length > 0) throw new SchemaMismatchError(problems);

    for (const { spec, onAdopted } of this.registrations) {
      const table = existing.has(spec.name) ? await this.extend(spec, existing.get(spec.name)!) : await this.create(spec, lowCardinality);
      this.adopted.set(spec.name, table);
      if (table.created || table.added.length > 0) this.logger.log({ table: spec.name, created: table.created, added: table.added }, 'table adopted');
      await onAdopted?.(table).catch((error: unknown) => {
        // A view or index the service builds on a table it cannot read as it expects.
        if (error instanceof StoreSchemaError || error instanceof StoreRejectedDataError) throw new SchemaMismatchError([`table ${spec.name}: ${error.detail}`]);
        throw error;
      });
    }
    return [...this.adopted.values()];
  }

  /** The adopted table; throws when it was never registered or adoptAll has not run. */
  table(name: string): AdoptedTable {
    const table = this.adopted.get(name);
    if (!table) throw new Error(`table ${name} has not been adopted`);
    return table;
  }

  /** Whether current ClickHouse accepts LowCardinality columns without an experimental setting. */
  async supportsLowCardinality(): Promise<boolean> {
    const [setting] = await this.clickhouse.query<{ value: string }>(
      sql`SELECT value FROM system.settings WHERE name = 'allow_experimental_low_cardinality_type'`,
    );
    return setting === undefined || setting.value === '1';
  }

  private async describe(names: string[]): Promise<Map<string, ExistingTable>> {
    const list = join(names.map(str), ', ');
    const tables = await this.clickhouse.query<{ name: string; engine: string; engine_full: string }>(
      sql`SELECT name, engine, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN (${list})`,
    );
    const columns = await this.clickhouse.query<{ table: string; name: string; type: string; default_expression: string }>(
      sql`SELECT table, name, type, default_expression FROM system.columns WHERE database = currentDatabase() AND table IN (${list})`,
    );
    return new Map(
      tables.map((table) => {
        const own = columns.filter((column) => column.table === table.name);
        return [
          table.name,
          {
            engine: table.engine,
            engineFull: table.engine_full,
            columns: new Map(own.map((column) => [column.name, column.type])),
            defaults: new Set(own.filter((column) => column.default_expression !== '').map((column) => column.name)),
          },
        ];
      }),
    );
  }

  private async create(spec: TableSpec, lowCardinality: boolean): Promise<AdoptedTable> {
    const columns = spec.columns.filter((column) => !column.legacy);
    const definitions = columns.map((column) => {
      const type = lowCardinality ? column.type : withoutLowCardinality(column.type);
      return column.default ? sql`${ident(column.name)} ${type} DEFAULT ${column.default}` : sql`${ident(column.name)} ${type}`;
    });
    const partition = spec.partitionBy ? sql`PARTITION BY ${spec.partitionBy}` : sql``;
    const engine = this.clickhouse.cluster ? replicated(spec.engine, this.clickhouse.database, spec.name) : spec.engine;
    await this.clickhouse.command(sql`CREATE TABLE IF NOT EXISTS ${this.clickhouse.qualified(spec.name)} ${this.clickhouse.onCluster()} (${join(definitions, ', ')})
      ENGINE = ${engine} ${partition} ORDER BY ${spec.orderBy}`);
    // Another instance may have created it first, in another shape: describe what is there now.
    const created = (await this.describe([spec.name])).get(spec.name)!;
    return { ...adoptedTable(spec.name, created), created: true };
  }

  private async extend(spec: TableSpec, existing: ExistingTable): Promise<AdoptedTable> {
    const added: string[] = [];
    for (const column of spec.columns.filter((candidate) => candidate.role === 'added' && !existing.columns.has(candidate.name))) {
      await this.addColumn(spec.name, column, existing.columns);
      added.push(column.name);
    }
    for (const column of spec.columns.filter((candidate) => candidate.ensureDefault && existing.columns.has(candidate.name) && !existing.defaults.has(candidate.name))) {
      const expression = column.ensureDefault!(existing.columns);
      if (!expression) continue;
      await this.clickhouse.command(
        sql`ALTER TABLE ${this.clickhouse.qualified(spec.name)} ${this.clickhouse.onCluster()} MODIFY COLUMN ${ident(column.name)} ${columnType(existing.columns.get(column.name)!)} DEFAULT ${expression}`,
      );
      added.push(`${column.name} DEFAULT`);
    }
    const now = added.length > 0 ? (await this.describe([spec.name])).get(spec.name)! : existing;
    return { ...adoptedTable(spec.name, now), added };
  }

  private async addColumn(table: string, column: ColumnSpec, columns: ReadonlyMap<string, string>): Promise<void> {
    const fallback = column.addDefault?.(columns) ?? column.default;
    const definition = fallback ? sql`${ident(column.name)} ${withoutLowCardinality(column.type)} DEFAULT ${fallback}` : sql`${ident(column.name)} ${withoutLowCardinality(column.type)}`;
    try {
      await this.clickhouse.command(sql`ALTER TABLE ${this.clickhouse.qualified(table)} ${this.clickhouse.onCluster()} ADD COLUMN ${definition}`);
    } catch (error) {
      // Another instance starting at the same moment may have added it first.
      if (!(await this.describe([table])).get(table)?.columns.has(column.name)) throw error;
    }
  }
}

/**
 * The Replicated form of a MergeTree-family engine, its parts in ZooKeeper under the table's own
 * path and this server's {shard} and {replica} macros: `ReplacingMergeTree(ver)` →
 * `ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db.table', '{replica}', ver)`.
 */
export function replicated(engine: Sql, database: string, table: string): Sql {
  return replicatedEngine(engine, `/clickhouse/tables/{shard}/${database}.${table}`);
}

function adoptedTable(name: string, existing: ExistingTable): AdoptedTable {
  return { name, engine: existing.engine, versionColumn: versionColumnOf(existing), columns: existing.columns, created: false, added: [] };
}

/** `ReplacingMergeTree(updated_at)` → updated_at; the replicated form's last argument likewise. */
function versionColumnOf(existing: ExistingTable): string | undefined {
  const args = /^\w*ReplacingMergeTree\(([^)]*)\)/.exec(existing.engineFull)?.[1];
  const last = args?.split(',').pop()?.trim();
  return last && existing.columns.has(last) ? last : undefined;
}

/** Everything that makes an existing table unusable, each with what to do about it. */
export function problemsWith(spec: TableSpec, existing: ExistingTable): string[] {
  const problems: string[] = [];
  if (!spec.acceptedEngines.includes(existing.engine)) {
    problems.push(
      `table ${spec.name} has engine ${existing.engine}; this service needs ${spec.acceptedEngines.join(' or ')} (the shape ${spec.owner} creates). ` +
        `Move the table aside (RENAME TABLE ${spec.name} TO ${spec.name}_old) and let the service create it, or point CLICKHOUSE_DATABASE elsewhere`,
    );
  }
  for (const column of spec.columns) {
    const type = existing.columns.get(column.name);
    if (type === undefined) {
      if (column.role === 'required') {
        problems.push(`table ${spec.name} has no column ${column.name} (${column.type.text}), which this service reads and writes; add it: ALTER TABLE ${spec.name} ADD COLUMN ${column.name} ${column.type.text}`);
      }
      continue;
    }
    const { nullable } = unwrapType(type);
    if (familyOf(type) !== column.family || (nullable && !column.nullable) || (!nullable && column.nullable === 'required')) {
      const kind = column.nullable === 'required' ? 'a Nullable ' : column.nullable ? 'a ' : 'a non-nullable ';
      problems.push(`table ${spec.name} column ${column.name} is ${type}; this service needs ${kind}${column.family} column such as ${column.type.text}`);
    }
  }
  return problems;
}
