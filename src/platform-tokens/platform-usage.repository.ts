import { Injectable } from '@nestjs/common';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { dateTime, sql, str } from '../clickhouse/sql.js';

export interface ToolUsage {
  tool_name: string;
  calls: number;
  records: number;
}

/**
 * A subject's calls in mcp_tool_usage_log per tool, for the platform's reconciliation. The log is
 * sorted by (user_id, created_at), so this reads only that subject's granules from `since` on,
 * however many rows others have; one grouped read gives the per-tool rows and, summed, the totals.
 */
@Injectable()
export class PlatformUsageRepository {
  constructor(private readonly clickhouse: ClickHouseService) {}

  async byTool(userId: string, since: Date | undefined): Promise<ToolUsage[]> {
    const from = since ? sql`AND created_at >= ${dateTime(since)}` : sql``;
    const rows = await this.clickhouse.query<{ tool_name: string; calls: string | number; records: string | number }>(sql`
      SELECT tool_name, count() AS calls, sum(record_count) AS records
      FROM mcp_tool_usage_log
      WHERE user_id = ${str(userId)} ${from}
      GROUP BY tool_name
      ORDER BY records DESC, tool_name`);
    return rows.map((row) => ({ tool_name: row.tool_name, calls: Number(row.calls), records: Number(row.records) }));
  }
}
