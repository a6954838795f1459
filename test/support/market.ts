import { DemoDataSeeder, type SeedResult } from '../../src/market-data/demo-data/demo-data.seeder.js';
import { type StockTool, type ToolOutput, runStockTool } from '../../src/market-data/stock-tool.js';
import { ident, sql } from '../../src/clickhouse/sql.js';
import { MARKET_TABLES } from '../../src/market-data/market-tables.js';
import { type AdoptedServices, adoptedServices } from './services.js';

/** The day the demo data of the market specs ends on. */
export const TODAY = new Date('2026-11-25T00:00:00Z');

export interface SeededMarket extends AdoptedServices {
  seeder: DemoDataSeeder;
  firstSeed: SeedResult;
  /** Validates the arguments as the gateway does, then runs the tool. */
  run(tool: StockTool, args: unknown): Promise<ToolOutput>;
}

/**
 * A database of its own with the market tables adopted and the demo data of TODAY seeded. With
 * `keepVersions`, merges are stopped first, so every re-ingested version stays a row of its own
 * (as on a real database between the loader's runs and ClickHouse's merges).
 */
export async function seededMarket(prefix: string, env: Record<string, string> = {}, options: { keepVersions?: boolean } = {}): Promise<SeededMarket> {
  const services = await adoptedServices(prefix, env);
  if (options.keepVersions) {
    for (const table of MARKET_TABLES) await services.clickhouse.command(sql`SYSTEM STOP MERGES ${ident(table.name)}`);
  }
  const seeder = new DemoDataSeeder(services.clickhouse, services.schema, services.config);
  const firstSeed = await seeder.seedIfEmpty(TODAY);
  return { ...services, seeder, firstSeed, run: (tool, args) => runStockTool(tool, tool.input.parse(args), services.market) };
}

/** The issues zod reports for these arguments, as [path, message] pairs. */
export function issuesOf(tool: StockTool, args: unknown): string[][] {
  const result = tool.input.safeParse(args);
  return result.success ? [] : result.error.issues.map((issue) => [issue.path.join('.'), issue.message]);
}

/** A generated row as a tool returns it: without the loader's bookkeeping columns. */
export function withoutIngest<Row extends { version?: number; _ingested_at?: number }>(row: Row): Omit<Row, 'version' | '_ingested_at'> {
  const { version: _version, _ingested_at: _ingestedAt, ...data } = row;
  return data;
}

/**
 * ClickHouse 18.16 parses JSONEachRow floats up to an ULP off (-1.2289 reads back as
 * -1.2288999999999999); the generator's values have fewer than 15 significant digits, which survive.
 */
export function significantDigits(rows: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, typeof value === 'number' ? Number(value.toPrecision(15)) : value])));
}
