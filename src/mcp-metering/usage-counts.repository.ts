import { Injectable } from '@nestjs/common';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { dateTime, join, sql, str } from '../clickhouse/sql.js';
import type { CurrentPeriods } from './quota-periods.js';
import type { StoredKeyUsage, Tally } from './usage-ledger.js';

interface CountRow {
  user_id: string;
  api_key_id: string;
  day_calls: string | number;
  day_records: string | number;
  month_calls: string | number;
  month_records: string | number;
}

/**
 * What mcp_tool_usage_log holds for some users in the current day and month, per key: the quota
 * counters' starting point. The log is sorted by (user_id, created_at), so this reads only those
 * users' rows of this month. Periods are compared as instants, so the server's timezone does not matter.
 */
@Injectable()
export class UsageCountsRepository {
  constructor(private readonly clickhouse: ClickHouseService) {}

  async countsByKey(userIds: string[], periods: CurrentPeriods): Promise<Map<string, StoredKeyUsage[]>> {
    const { day, month } = periods;
    const inDay = sql`created_at >= ${dateTime(day.start)} AND created_at < ${dateTime(day.end)}`;
    const rows = await this.clickhouse.query<CountRow>(sql`
      SELECT user_id, api_key_id,
        countIf(${inDay}) AS day_calls, sumIf(record_count, ${inDay}) AS day_records,
        count() AS month_calls, sum(record_count) AS month_records
      FROM mcp_tool_usage_log
      WHERE user_id IN (${join(userIds.map(str), ', ')})
        AND created_at >= ${dateTime(month.start)} AND created_at < ${dateTime(month.end)}
      GROUP BY user_id, api_key_id`);
    const byUser = new Map<string, StoredKeyUsage[]>(userIds.map((id) => [id, []]));
    for (const row of rows) {
      byUser.get(row.user_id)?.push({
        keyId: row.api_key_id,
        dayCalls: Number(row.day_calls),
        dayRecords: Number(row.day_records),
        monthCalls: Number(row.month_calls),
        monthRecords: Number(row.month_records),
      });
    }
    return byUser;
  }

  /** Every call and record the log holds for these users, all time (their query packs' usage); the sort key's prefix makes it a read of their rows only. */
  async lifetimeTotals(userIds: string[]): Promise<Map<string, Tally>> {
    const totals = new Map<string, Tally>(userIds.map((id) => [id, { calls: 0, records: 0 }]));
    if (userIds.length === 0) return totals;
    const rows = await this.clickhouse.query<{ user_id: string; calls: string | number; records: string | number }>(sql`
      SELECT user_id, count() AS calls, sum(record_count) AS records
      FROM mcp_tool_usage_log
      WHERE user_id IN (${join(userIds.map(str), ', ')})
      GROUP BY user_id`);
    for (const row of rows) totals.set(row.user_id, { calls: Number(row.calls), records: Number(row.records) });
    return totals;
  }
}
