import { Injectable } from '@nestjs/common';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { type Sql, dateTime, int, sql } from '../clickhouse/sql.js';
import type { UsageFiguresDto, UsageGroup, UsageSummaryRowDto } from './dto/usage-summary.dto.js';
import type { DayRange } from './usage-day-range.js';

/** Constant expressions, never input: group_by picks one by name. */
const GROUP_KEYS: Record<UsageGroup, Sql> = {
  user: sql`user_id`,
  key: sql`api_key_id`,
  tool: sql`tool_name`,
  table: sql`table_name`,
  day: sql`toString(toDate(created_at, 'UTC'))`,
};

/**
 * quantilesTiming (on 18.16 and current releases) keeps bounded memory per group, unlike exact
 * quantiles over every user's calls. It reads negative values as huge unsigned ones, so a clock
 * that stepped back is counted as 0 ms.
 */
const FIGURES = sql`count() AS calls, sum(record_count) AS records, sum(is_error) AS errors,
  quantilesTiming(0.5, 0.95)(greatest(duration_ms, 0)) AS latency`;

interface FiguresRow {
  calls: string;
  records: string;
  errors: string;
  /** NaN (JSON null) over no rows. */
  latency: (number | null)[];
}

/** UInt64 and Int64 arrive as JSON strings; percentiles of no calls are null. */
function toFigures(row: FiguresRow): UsageFiguresDto {
  const calls = Number(row.calls);
  const percentile = (value: number | null) => (calls === 0 || value === null ? null : Number(value));
  return { calls, records: Number(row.records), errors: Number(row.errors), p50_ms: percentile(row.latency[0]), p95_ms: percentile(row.latency[1]) };
}

/**
 * Every user's calls in mcp_tool_usage_log (the table McpUsage registers and owns), for the
 * operator view. created_at is compared with UTC instants, so the server's time zone does not
 * shift the days; the month partitions outside the range are not read.
 */
@Injectable()
export class UsageSummaryRepository {
  constructor(private readonly clickhouse: ClickHouseService) {}

  async totals(range: DayRange): Promise<UsageFiguresDto> {
    const [row] = await this.clickhouse.query<FiguresRow>(sql`
      SELECT ${FIGURES}
      FROM mcp_tool_usage_log
      WHERE ${inRange(range)}`);
    return toFigures(row);
  }

  /** The `limit` groups with the most records, then the most calls (ties by key, so pages are stable). */
  async grouped(range: DayRange, group: UsageGroup, limit: number): Promise<UsageSummaryRowDto[]> {
    const rows = await this.clickhouse.query<FiguresRow & { group_key: string }>(sql`
      SELECT ${GROUP_KEYS[group]} AS group_key, ${FIGURES}
      FROM mcp_tool_usage_log
      WHERE ${inRange(range)}
      GROUP BY group_key
      ORDER BY records DESC, calls DESC, group_key
      LIMIT ${int(limit)}`);
    return rows.map((row) => ({ key: row.group_key, ...toFigures(row) }));
  }
}

const inRange = (range: DayRange) => sql`created_at >= ${dateTime(range.from)} AND created_at < ${dateTime(range.until)}`;
