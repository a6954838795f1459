// Imports modules from the bench's build of src/ (decorated Nest classes need reflect-metadata first).
import 'reflect-metadata';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const importDist = (distDir, path) => import(pathToFileURL(join(distDir, path)).href);

/** A ClickHouseService (the app's own client wrapper) for the bench's database, plus the sql helpers; `env` adds settings. */
export async function appClickHouse(distDir, clickhouseUrl, database, env = {}) {
  const { loadAppConfig } = await importDist(distDir, 'config/app-config.js');
  const { ClickHouseService } = await importDist(distDir, 'clickhouse/clickhouse.service.js');
  const sqlHelpers = await importDist(distDir, 'clickhouse/sql.js');
  const config = loadAppConfig({
    CLICKHOUSE_URL: clickhouseUrl,
    CLICKHOUSE_DATABASE: database,
    CLICKHOUSE_USER: process.env.CLICKHOUSE_USER,
    CLICKHOUSE_PASSWORD: process.env.CLICKHOUSE_PASSWORD,
    ...env,
  });
  return { config, clickhouse: new ClickHouseService(config), ...sqlHelpers };
}
