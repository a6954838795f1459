import { UsersRepository } from '../../src/auth/users.repository.js';
import { ClickHouseService } from '../../src/clickhouse/clickhouse.service.js';
import { SchemaService } from '../../src/clickhouse/schema/schema.service.js';
import { type AppConfig, loadAppConfig } from '../../src/config/app-config.js';
import { MarketDataRepository } from '../../src/market-data/market-data.repository.js';
import { ApiKeysRepository } from '../../src/mcp-keys/api-keys.repository.js';
import { ApiKeyPoliciesRepository } from '../../src/mcp-keys/api-key-policies.repository.js';
import { UsageRepository } from '../../src/mcp-usage/usage.repository.js';
import { clickHouseUrl, dropDatabase, uniqueDatabaseName } from './clickhouse.js';

export interface AdoptedServices {
  database: string;
  config: AppConfig;
  clickhouse: ClickHouseService;
  schema: SchemaService;
  users: UsersRepository;
  keys: ApiKeysRepository;
  policies: ApiKeyPoliciesRepository;
  usage: UsageRepository;
  market: MarketDataRepository;
  /** Closes the client and drops the database. */
  close(): Promise<void>;
}

/**
 * The repositories of a unit spec on a database of its own, with every table adopted as the app
 * does at start-up. `env` adds settings (the database name among them).
 */
export async function adoptedServices(prefix: string, env: Record<string, string> = {}): Promise<AdoptedServices> {
  const database = env.CLICKHOUSE_DATABASE ?? uniqueDatabaseName(prefix);
  const config = loadAppConfig({ CLICKHOUSE_URL: clickHouseUrl(), ...env, CLICKHOUSE_DATABASE: database });
  const clickhouse = new ClickHouseService(config);
  const schema = new SchemaService(clickhouse);
  const services = {
    users: new UsersRepository(clickhouse, schema),
    keys: new ApiKeysRepository(clickhouse, schema),
    policies: new ApiKeyPoliciesRepository(clickhouse, schema),
    usage: new UsageRepository(clickhouse, schema),
    market: new MarketDataRepository(clickhouse, schema),
  };
  await schema.adoptAll();
  return {
    database,
    config,
    clickhouse,
    schema,
    ...services,
    close: async () => {
      await clickhouse.onApplicationShutdown();
      await dropDatabase(database);
    },
  };
}
