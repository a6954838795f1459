import { BadRequestException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { fromUnixSeconds, toIsoSeconds } from '../clickhouse/datetime.js';
import { parseIsoDate } from '../clickhouse/sql.js';
import { GateFullError, KeyedGate } from '../common/bounded-gate.js';
import { RetryLaterException } from '../common/retry-later.exception.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { HistoryQueryDto } from './dto/usage-query.dto.js';
import type { UsageHistoryDto, UsageStatsDto } from './dto/usage-response.dto.js';
import { type HistoryFilter, UsageRepository, locatePage } from './usage.repository.js';

const DAY_MS = 86_400_000;
const TOP_TOOLS = 10;

const startOfUtcDay = (at: Date) => new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);

/**
 * History and stats of one user's calls. Each user may run USAGE_QUERIES_PER_USER of them at once
 * (more get 429) and history pages stop at USAGE_HISTORY_MAX_OFFSET, so one heavy user cannot
 * occupy ClickHouse for everyone; ClickHouse's own per-query limits back this up.
 */
@Injectable()
export class McpUsageService {
  private readonly queriesPerUser: KeyedGate;

  constructor(
    private readonly usage: UsageRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    // Refused, not queued: a client that floods cannot build a backlog that delays everyone else.
    this.queriesPerUser = new KeyedGate(config.usage.queriesPerUser, 0);
  }

  history(userId: string, query: HistoryQueryDto): Promise<UsageHistoryDto> {
    const offset = (query.page - 1) * query.page_size;
    const maxOffset = this.config.usage.historyMaxOffset;
    if (offset + query.page_size > maxOffset) {
      throw new BadRequestException(
        `page × page_size must not exceed ${maxOffset}; narrow the range with start_date and end_date to reach older calls`,
      );
    }
    const from = query.start_date ? parseIsoDate(query.start_date) : undefined;
    const until = query.end_date ? new Date(parseIsoDate(query.end_date).getTime() + DAY_MS) : undefined;
    if (from && until && from >= until) throw new BadRequestException('start_date must not be after end_date');
    return this.limited(userId, () => this.readHistory({ userId, from, until, toolName: query.tool_name }, query, offset));
  }

  /** The last `days` UTC days, today included. */
  stats(userId: string, days: number, now = new Date()): Promise<UsageStatsDto> {
    return this.limited(userId, () => this.readStats(userId, days, now));
  }

  private async limited<T>(userId: string, task: () => Promise<T>): Promise<T> {
    try {
      return await this.queriesPerUser.run(userId, task);
    } catch (error) {
      if (error instanceof GateFullError) throw new RetryLaterException(HttpStatus.TOO_MANY_REQUESTS, 'Too many usage queries at once for this account; retry in a moment', 1);
      throw error;
    }
  }

  /**
   * Two reads: calls per hour (the total, and which hours hold the page), then the page from those
   * hours only. ClickHouse 18.16 cannot stop reading at a LIMIT in sort order, so a deep page of a
   * heavy user would otherwise read and sort all of their rows.
   */
  private async readHistory(filter: HistoryFilter, query: HistoryQueryDto, offset: number): Promise<UsageHistoryDto> {
    const hours = await this.usage.hourlyCounts(filter);
    const total = hours.reduce((sum, hour) => sum + hour.calls, 0);
    const located = locatePage(filter, hours, offset, query.page_size);
    const rows = located ? await this.usage.page(located.filter, query.page_size, located.offset) : [];
    return {
      records: rows.map((row) => ({
        ...row,
        is_error: row.is_error === 1,
        error_message: row.error_message === '' ? null : row.error_message,
        created_at: toIsoSeconds(fromUnixSeconds(row.created_at)),
      })),
      total,
      page: query.page,
      page_size: query.page_size,
    };
  }

  private async readStats(userId: string, days: number, now: Date): Promise<UsageStatsDto> {
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
