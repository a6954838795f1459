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
      `SELECT (SELECT count() FROM system.databases WHERE name = '${database}') AS exists, (SELECT toString(max(cal_date)) FROM \`${template}\`.ods_trade_calendar) AS newest`,
    );
    if (Number(state.exists) > 0 || state.newest !== new Date().toISOString().slice(0, 10)) return;
    const tables = await queryRows<{ name: string }>(client, `SELECT name FROM system.tables WHERE database = '${template}' AND substring(name, 1, 4) = 'ods_'`);
    await client.command({ query: `CREATE DATABASE \`${database}\`` });
    for (const { name } of tables) {
      await client.command({ query: `CREATE TABLE \`${database}\`.\`${name}\` AS \`${template}\`.\`${name}\`` });
      await client.command({ query: `INSERT INTO \`${database}\`.\`${name}\` SELECT * FROM \`${template}\`.\`${name}\`` });
    }
  } finally {
    await client.close();
  }
}
