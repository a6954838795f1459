import { randomUUID } from 'node:crypto';
import { unixSeconds } from '../../src/clickhouse/datetime.js';
import type { UsageRecord } from '../../src/mcp-usage/usage-record.js';

/** One successful search_stocks call made now, with whatever the test needs changed. */
export function usageRecordFixture(changes: Partial<UsageRecord> = {}): UsageRecord {
  return {
    id: randomUUID(),
    user_id: 'user-1',
    api_key_id: 'key-1',
    tool_name: 'search_stocks',
    service_prefix: 'tushare_stock_basic',
    table_name: 'ods_stock_basic',
    arguments: '{"query":"000001"}',
    record_count: 1,
    duration_ms: 2,
    is_error: 0,
    error_message: '',
    created_at: unixSeconds(new Date()),
    ...changes,
  };
}
