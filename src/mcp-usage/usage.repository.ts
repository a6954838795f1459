import { Injectable } from '@nestjs/common';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { type Sql, dateTime, int, join, sql, str } from '../clickhouse/sql.js';
import type { UsageRecord } from './usage-record.js';

export interface HistoryFilter {
  userId: string;
  from?: Date;
  /** Exclusive upper bound. */
  until?: Date;
  toolName?: string;
}

type StoredUsage = Omit<UsageRecord, 'record_count' | 'duration_ms' | 'is_error'> & { record_count: number; duration_ms: number; is_error: number };

export interface DailyUsage {
  date: string;
  call_count: number;
  total_records: number;
}

export interface ToolUsage {
  tool_name: string;
  table_name: string;
  call_count: number;
  total_records: number;
}

/**
 * Every query filters on user_id and a created_at range first: the table's sort key, so a user's
 * history never scans other users' rows. A record shipped twice (a retried batch) has the same id
 * and the same values, so each query keeps one row per id (`LIMIT 1 BY id`, `uniqExact(id)`). The
 * table is a ReplacingMergeTree too, so merges drop the copies eventually; FINAL would give the
 * same answers but costs 5-10x more on ClickHouse 18.16 (bench/README.md).
 */
@Injectable()
export class UsageRepository {
  constructor(private readonly clickhouse: ClickHouseService) {}

  async insert(records: readonly UsageRecord[], signal?: AbortSignal): Promise<void> {
    await this.clickhouse.insert('mcp_tool_usage_log', records as unknown as Record<string, unknown>[], { signal });
  }

  async count(filter: HistoryFilter): Promise<number> {
    const [row] = await this.clickhouse.query<{ total: string }>(sql`
      SELECT uniqExact(id) AS total FROM mcp_tool_usage_log WHERE ${whereClause(filter)}`);
    return Number(row.total);
  }

  async page(filter: HistoryFilter, limit: number, offset: number): Promise<StoredUsage[]> {
    return this.clickhouse.query<StoredUsage>(sql`
      SELECT id, user_id, api_key_id, tool_name, table_name, arguments, record_count, duration_ms,
        is_error, error_message, created_at
      FROM mcp_tool_usage_log
      WHERE ${whereClause(filter)}
      ORDER BY created_at DESC, id DESC
      LIMIT 1 BY id
      LIMIT ${int(offset)}, ${int(limit)}`);
  }

  async daily(filter: HistoryFilter): Promise<DailyUsage[]> {
    const rows = await this.clickhouse.query<{ date: string; call_count: string; total_records: string }>(sql`
      SELECT toString(toDate(created_at)) AS date, count() AS call_count, sum(record_count) AS total_records
      FROM ${onePerId(filter, sql`created_at, record_count`)}
      GROUP BY date
      ORDER BY date`);
    return rows.map((row) => ({ date: row.date, call_count: Number(row.call_count), total_records: Number(row.total_records) }));
  }

  async topTools(filter: HistoryFilter, limit: number): Promise<ToolUsage[]> {
    const rows = await this.clickhouse.query<{ tool_name: string; table_name: string; call_count: string; total_records: string }>(sql`
      SELECT tool_name, table_name, count() AS call_count, sum(record_count) AS total_records
      FROM ${onePerId(filter, sql`tool_name, table_name, record_count`)}
      GROUP BY tool_name, table_name
      ORDER BY call_count DESC, tool_name, table_name
      LIMIT ${int(limit)}`);
    return rows.map((row) => ({ ...row, call_count: Number(row.call_count), total_records: Number(row.total_records) }));
  }
}

/** The filtered records, one row per id, as a subquery. */
function onePerId(filter: HistoryFilter, columns: Sql): Sql {
  return sql`(SELECT id, ${columns} FROM mcp_tool_usage_log WHERE ${whereClause(filter)} LIMIT 1 BY id)`;
}

function whereClause(filter: HistoryFilter): Sql {
  const conditions = [sql`user_id = ${str(filter.userId)}`];
  if (filter.from) conditions.push(sql`created_at >= ${dateTime(filter.from)}`);
  if (filter.until) conditions.push(sql`created_at < ${dateTime(filter.until)}`);
  if (filter.toolName !== undefined) conditions.push(sql`tool_name = ${str(filter.toolName)}`);
  return join(conditions, ' AND ');
}
