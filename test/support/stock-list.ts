import { stockBasicRows } from '../../src/market-data/demo-data/demo-data.generator.js';
import { rawClient } from './clickhouse.js';

/**
 * Puts the demo stock list (ods_stock_basic, whose table a gateway has created) into `database`:
 * for tests whose calls read only the list, where seeding the whole demo market (DEMO_DATA) costs
 * seconds per start, and about 10 s on a ClickHouse process that has just started.
 */
export async function insertStockList(database: string, url?: string): Promise<void> {
  const client = rawClient(database, url);
  try {
    await client.insert({ table: 'ods_stock_basic', values: stockBasicRows(new Date()), format: 'JSONEachRow' });
  } finally {
    await client.close();
  }
}
