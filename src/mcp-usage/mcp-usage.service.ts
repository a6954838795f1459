import { BadRequestException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { fromUnixSeconds, toIsoSeconds } from '../clickhouse/datetime.js';
import { FIRST_DAY, parseIsoDate } from '../clickhouse/sql.js';
import { GateFullError, KeyedGate } from '../common/bounded-gate.js';
import { RetryLaterException } from '../common/retry-later.exception.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { HistoryQueryDto, StatsQueryDto } from './dto/usage-query.dto.js';
import type { UsageHistoryDto, UsageStatsDto } from './dto/usage-response.dto.js';
import { type HistoryFilter, UsageRepository, locatePage } from './usage.repository.js';

const DAY_MS = 86_400_000;
const TOP_TOOLS = 10;

/** A year and a leap day: a year's range from any day to the same day a year later. */
const MAX_STATS_DAYS = 366;

const startOfUtcDay = (at: Date) => new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);
const dayAfter = (isoDay: string) => new Date(parseIsoDate(isoDay).getTime() + DAY_MS);
const isoDay = (at: Date) => at.toISOString().slice(0, 10);

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
    const until = query.end_date ? dayAfter(query.end_date) : undefined;
    if (from && until && from >= until) throw new BadRequestException('start_date must not be after end_date');
    return this.limited(userId, () => this.readHistory({ userId, from, until, toolName: query.tool_name, apiKeyId: query.api_key_id }, query, offset));
  }

  /** From start_date (or the last `days` UTC days, today included) through end_date (or today). */
  stats(userId: string, query: StatsQueryDto, now = new Date()): Promise<UsageStatsDto> {
    const until = query.end_date ? dayAfter(query.end_date) : new Date(startOfUtcDay(now).getTime() + DAY_MS);
    // `days` before an early end_date may reach before the first day ClickHouse holds: start there.
    const from = query.start_date ? parseIsoDate(query.start_date) : new Date(Math.max(until.getTime() - query.days * DAY_MS, parseIsoDate(FIRST_DAY).getTime()));
    if (from >= until) throw new BadRequestException('start_date must not be after end_date');
    if (until.getTime() - from.getTime() > MAX_STATS_DAYS * DAY_MS) throw new BadRequestException(`start_date to end_date may span at most ${MAX_STATS_DAYS} days`);
    return this.limited(userId, () => this.readStats({ userId, from, until, apiKeyId: query.api_key_id }));
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

  private async readStats(filter: Required<Pick<HistoryFilter, 'userId' | 'from' | 'until'>> & HistoryFilter): Promise<UsageStatsDto> {
    const [daily, topTools, topTables] = await Promise.all([this.usage.daily(filter), this.usage.topTools(filter, TOP_TOOLS), this.usage.topTables(filter, TOP_TOOLS)]);
    const total = (field: 'call_count' | 'total_records' | 'error_count') => daily.reduce((sum, day) => sum + day[field], 0);
    return {
      daily_stats: daily,
      total_calls: total('call_count'),
      total_records: total('total_records'),
      avg_daily_calls: daily.length === 0 ? 0 : Math.round((total('call_count') / daily.length) * 100) / 100,
      top_tools: topTools,
      total_errors: total('error_count'),
      top_tables: topTables,
      start_date: isoDay(filter.from),
      end_date: isoDay(new Date(filter.until.getTime() - DAY_MS)),
    };
  }
}
