import { Injectable } from '@nestjs/common';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { SchemaService } from '../clickhouse/schema/schema.service.js';
import { existingColumnsOnly } from '../clickhouse/schema/table-spec.js';
import { type Sql, dateTime, int, join, sql, str } from '../clickhouse/sql.js';
import type { UsageRecord } from './usage-record.js';
import { USAGE_LOG_TABLE } from './usage-log.table.js';

export interface HistoryFilter {
  userId: string;
  from?: Date;
  /** Exclusive upper bound. */
  until?: Date;
  toolName?: string;
  apiKeyId?: string;
}

/** Calls in one hour (start in seconds since the epoch), newest hour first. */
export interface HourCount {
  hour: number;
  calls: number;
}

export interface DailyUsage {
  date: string;
  call_count: number;
  total_records: number;
  error_count: number;
}

export interface TableUsage {
  table_name: string;
  call_count: number;
  total_records: number;
}

export interface ToolUsage {
  tool_name: string;
  table_name: string;
  call_count: number;
  total_records: number;
}

const HOUR_SECONDS = 3600;
/** ~45 bytes of query text per id: 1000 ids keep a query near 60 KiB. */
const STORED_IDS_PER_QUERY = 1000;

/**
 * mcp_tool_usage_log, shared with the original service. Every read filters on user_id and a
 * created_at range first, the table's sort key, so a user's history never scans other users'
 * rows. Records are stored once (see UsageWriter), so reads count rows as they are.
 */
@Injectable()
export class UsageRepository {
  constructor(
    private readonly clickhouse: ClickHouseService,
    private readonly schema: SchemaService,
  ) {
    schema.register(USAGE_LOG_TABLE);
  }

  /** `queryId` names the insert on the server, so a retry can tell whether it is still running. */
  async insert(records: readonly UsageRecord[], options: { signal?: AbortSignal; queryId?: string } = {}): Promise<void> {
    const table = this.schema.table(USAGE_LOG_TABLE.name);
    const rows = records.map((record) => existingColumnsOnly(table, { ...record }));
    await this.clickhouse.insert(USAGE_LOG_TABLE.name, rows, options);
  }

  /** Whether a query with this id still runs on the server (an insert the client gave up on may). */
  async isRunning(queryId: string): Promise<boolean> {
    const [row] = await this.clickhouse.query<{ running: string }>(sql`SELECT count() AS running FROM system.processes WHERE query_id = ${str(queryId)}`);
    return Number(row.running) > 0;
  }

  /**
   * Which of these records the table already holds, read through the sort key (users, then their
   * time range), STORED_IDS_PER_QUERY at a time: a query stays far below ClickHouse's
   * max_query_size (256 KiB) whatever USAGE_BATCH_SIZE is.
   */
  async storedIds(records: readonly UsageRecord[]): Promise<Set<string>> {
    const stored = new Set<string>();
    for (let start = 0; start < records.length; start += STORED_IDS_PER_QUERY) {
      const chunk = records.slice(start, start + STORED_IDS_PER_QUERY);
      const times = chunk.map((record) => record.created_at);
      const rows = await this.clickhouse.query<{ id: string }>(sql`
        SELECT id FROM mcp_tool_usage_log
        WHERE user_id IN (${join([...new Set(chunk.map((record) => record.user_id))].map(str), ', ')})
          AND created_at >= ${dateTime(new Date(Math.min(...times) * 1000))}
          AND created_at <= ${dateTime(new Date(Math.max(...times) * 1000))}
          AND id IN (${join(chunk.map((record) => str(record.id)), ', ')})`);
      for (const row of rows) stored.add(row.id);
    }
    return stored;
  }

  /** The filtered calls per hour, newest first: the total, and where any page of the history lies. */
  async hourlyCounts(filter: HistoryFilter): Promise<HourCount[]> {
    const rows = await this.clickhouse.query<{ hour: number; calls: string }>(sql`
      SELECT toUnixTimestamp(toStartOfHour(created_at)) AS hour, count() AS calls
      FROM mcp_tool_usage_log
      WHERE ${whereClause(filter)}
      GROUP BY hour
      ORDER BY hour DESC`);
    return rows.map((row) => ({ hour: Number(row.hour), calls: Number(row.calls) }));
  }

  /** Calls of the filter newest first, `offset` rows in; callers narrow the filter to the hours that hold them. */
  async page(filter: HistoryFilter, limit: number, offset: number): Promise<UsageRecord[]> {
    const rows = await this.clickhouse.query<UsageRecord>(sql`
      SELECT id, user_id, api_key_id, tool_name, service_prefix, table_name, arguments, record_count, duration_ms,
        is_error, error_message, toUnixTimestamp(created_at) AS created_at
      FROM mcp_tool_usage_log
      WHERE ${whereClause(filter)}
      ORDER BY created_at DESC, id DESC
      LIMIT ${int(offset)}, ${int(limit)}`);
    // Int64 counts (the original's column type) arrive as JSON strings.
    return rows.map((row) => ({ ...row, record_count: Number(row.record_count), duration_ms: Number(row.duration_ms), is_error: Number(row.is_error) === 1 ? 1 : 0, created_at: Number(row.created_at) }));
  }

  /** Calls and records per UTC day. */
  async daily(filter: HistoryFilter): Promise<DailyUsage[]> {
    const rows = await this.clickhouse.query<{ date: string; call_count: string; total_records: string; error_count: string }>(sql`
      SELECT toString(toDate(created_at, 'UTC')) AS date, count() AS call_count, sum(record_count) AS total_records, sum(is_error) AS error_count
      FROM mcp_tool_usage_log
      WHERE ${whereClause(filter)}
      GROUP BY date
      ORDER BY date`);
    return rows.map((row) => ({ date: row.date, call_count: Number(row.call_count), total_records: Number(row.total_records), error_count: Number(row.error_count) }));
  }

  async topTables(filter: HistoryFilter, limit: number): Promise<TableUsage[]> {
    const rows = await this.clickhouse.query<{ table_name: string; call_count: string; total_records: string }>(sql`
      SELECT table_name, count() AS call_count, sum(record_count) AS total_records
      FROM mcp_tool_usage_log
      WHERE ${whereClause(filter)}
      GROUP BY table_name
      ORDER BY call_count DESC, table_name
      LIMIT ${int(limit)}`);
    return rows.map((row) => ({ table_name: row.table_name, call_count: Number(row.call_count), total_records: Number(row.total_records) }));
  }

  async topTools(filter: HistoryFilter, limit: number): Promise<ToolUsage[]> {
    const rows = await this.clickhouse.query<{ tool_name: string; table_name: string; call_count: string; total_records: string }>(sql`
      SELECT tool_name, table_name, count() AS call_count, sum(record_count) AS total_records
      FROM mcp_tool_usage_log
      WHERE ${whereClause(filter)}
      GROUP BY tool_name, table_name
      ORDER BY call_count DESC, tool_name, table_name
      LIMIT ${int(limit)}`);
    return rows.map((row) => ({ ...row, call_count: Number(row.call_count), total_records: Number(row.total_records) }));
  }
}

/**
 * The narrowest filter that holds rows [offset, offset + limit) of the history, and the offset
 * within it: the hours before the page are skipped by the time range, not by reading them.
 */
export function locatePage(filter: HistoryFilter, hours: readonly HourCount[], offset: number, limit: number): { filter: HistoryFilter; offset: number } | undefined {
  let before = 0;
  let first: number | undefined;
  let last: number | undefined;
  let skipped = 0;
  for (let index = 0; index < hours.length && before < offset + limit; index++) {
    const { calls } = hours[index];
    if (first === undefined && before + calls > offset) {
      first = index;
      skipped = before;
    }
    if (first !== undefined) last = index;
    before += calls;
  }
  if (first === undefined || last === undefined) return undefined;
  const newest = new Date((hours[first].hour + HOUR_SECONDS) * 1000);
  const oldest = new Date(hours[last].hour * 1000);
  return {
    filter: { ...filter, from: filter.from && filter.from > oldest ? filter.from : oldest, until: filter.until && filter.until < newest ? filter.until : newest },
    offset: offset - skipped,
  };
}

function whereClause(filter: HistoryFilter): Sql {
  const conditions = [sql`user_id = ${str(filter.userId)}`];
  if (filter.from) conditions.push(sql`created_at >= ${dateTime(filter.from)}`);
  if (filter.until) conditions.push(sql`created_at < ${dateTime(filter.until)}`);
  if (filter.toolName !== undefined) conditions.push(sql`tool_name = ${str(filter.toolName)}`);
  if (filter.apiKeyId !== undefined) conditions.push(sql`api_key_id = ${str(filter.apiKeyId)}`);
  return join(conditions, ' AND ');
}
