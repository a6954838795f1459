import type { Migration } from '../migration.js';
import { createUsers } from './001-users.js';
import { createMcpApiKeys } from './002-mcp-api-keys.js';
import { createMcpToolUsageLog } from './003-mcp-tool-usage-log.js';
import { createDemoStockTables } from './004-demo-stock-tables.js';

/** Every schema step in order; append new ones with the next version number. */
export const MIGRATIONS: readonly Migration[] = [createUsers, createMcpApiKeys, createMcpToolUsageLog, createDemoStockTables];
