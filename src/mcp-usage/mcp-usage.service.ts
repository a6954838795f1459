import { BadRequestException, Injectable } from '@nestjs/common';
import { parseClickHouseDateTime, toIsoSeconds } from '../clickhouse/datetime.js';
import { parseIsoDate } from '../clickhouse/sql.js';
import type { HistoryQueryDto } from './dto/usage-query.dto.js';
import type { UsageHistoryDto, UsageStatsDto } from './dto/usage-response.dto.js';
import { UsageRepository } from './usage.repository.js';

const DAY_MS = 86_400_000;
const TOP_TOOLS = 10;

const startOfUtcDay = (at: Date) => new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);

@Injectable()
export class McpUsageService {
  constructor(private readonly usage: UsageRepository) {}

  async history(userId: string, query: HistoryQueryDto): Promise<UsageHistoryDto> {
    const from = query.start_date ? parseIsoDate(query.start_date) : undefined;
    const until = query.end_date ? new Date(parseIsoDate(query.end_date).getTime() + DAY_MS) : undefined;
    if (from && until && from >= until) throw new BadRequestException('start_date must not be after end_date');
    const filter = { userId, from, until, toolName: query.tool_name };
    const [total, rows] = await Promise.all([
      this.usage.count(filter),
      this.usage.page(filter, query.page_size, (query.page - 1) * query.page_size),
    ]);
    return {
      records: rows.map((row) => ({
        ...row,
        is_error: row.is_error === 1,
        error_message: row.error_message === '' ? null : row.error_message,
        created_at: toIsoSeconds(parseClickHouseDateTime(row.created_at)),
      })),
      total,
      page: query.page,
      page_size: query.page_size,
    };
  }

  /** The last `days` UTC days, today included. */
  async stats(userId: string, days: number, now = new Date()): Promise<UsageStatsDto> {
    const filter = { userId, from: new Date(startOfUtcDay(now).getTime() - (days - 1) * DAY_MS) };
    const [daily, topTools] = await Promise.all([this.usage.daily(filter), this.usage.topTools(filter, TOP_TOOLS)]);
    const totalCalls = daily.reduce((sum, day) => sum + day.call_count, 0);
    const totalRecords = daily.reduce((sum, day) => sum + day.total_records, 0);
    return {
      daily_stats: daily,
      total_calls: totalCalls,
      total_records: totalRecords,
      avg_daily_calls: daily.length === 0 ? 0 : Math.round((totalCalls / daily.length) * 100) / 100,
      top_tools: topTools,
    };
  }
}
