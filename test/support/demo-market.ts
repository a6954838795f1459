import { ident, sql, str } from '../../src/clickhouse/sql.js';
import { queryRows, rawClient } from './clickhouse.js';

/**
 * The demo market a gateway with DEMO_DATA seeds into a new database, copied by ClickHouse itself
 * from the template the e2e global setup seeded once (test/market-template.mjs): seeding takes a
 * gateway seconds, over ten on a busy two-core machine, a server-side copy a fraction of one. The
 * gateway then adopts the filled tables, finds them holding data and seeds nothing.
 *
 * Copies only into a database that does not exist yet, on the shared test ClickHouse, and only a
 * template of today (UTC; the demo data ends on the day it is made): otherwise the gateway seeds.
 */
export async function copyDemoMarket(database: string): Promise<void> {
  const template = process.env.E2E_MARKET_TEMPLATE;
  if (!template) return;
  const client = rawClient();
  try {
    const [state] = await queryRows<{ exists: number; newest: string }>(
      client,
      sql`SELECT (SELECT count() FROM system.databases WHERE name = ${str(database)}) AS exists, (SELECT toString(max(cal_date)) FROM ${ident(template)}.ods_trade_calendar) AS newest`.text,
    );
    if (Number(state.exists) > 0 || state.newest !== new Date().toISOString().slice(0, 10)) return;
    const tables = await queryRows<{ name: string }>(client, sql`SELECT name FROM system.tables WHERE database = ${str(template)} AND substring(name, 1, 4) = 'ods_'`.text);
    await client.command({ query: sql`CREATE DATABASE ${ident(database)}`.text });
    for (const { name } of tables) {
      const [copy, original] = [sql`${ident(database)}.${ident(name)}`, sql`${ident(template)}.${ident(name)}`];
      await client.command({ query: sql`CREATE TABLE ${copy} AS ${original}`.text });
      await client.command({ query: sql`INSERT INTO ${copy} SELECT * FROM ${original}`.text });
    }
  } finally {
    await client.close();
  }
}
