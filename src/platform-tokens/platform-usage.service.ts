import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { StoreUnavailableError } from '../clickhouse/clickhouse-errors.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { PlatformUsageRepository, type ToolUsage } from './platform-usage.repository.js';

/** Where the management platform reads usage, on the MCP port, as the original serves it. */
export const USAGE_SUMMARY_PATH = '/usage/summary';

/** The original's answer: a subject's calls and records since a moment (or all time), per tool. */
export interface UsageSummary {
  username: string;
  since: string;
  total_calls: number;
  total_records: number;
  by_tool: ToolUsage[];
}

/** An answer to GET /usage/summary; errors in the original's shape, `{error}`. */
export interface SummaryAnswer {
  status: number;
  body: UsageSummary | { error: string };
}

const MAX_USERNAME_LENGTH = 256;
/** A date, or a date-time with optional seconds, fraction and zone (no zone: UTC). */
/** Zones as ISO 8601 writes them: ±hh:mm from -14:00 to +14:00. */
const SINCE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](?:0\d|1[0-4]):[0-5]\d)?)?$/;
const SINCE_HELP = 'since must be a date (YYYY-MM-DD) or a date-time (YYYY-MM-DD HH:MM:SS, UTC unless it names a zone) between 1970 and 2106';

const failure = (status: number, error: string): SummaryAnswer => ({ status, body: { error } });

/**
 * GET /usage/summary?username=&since= for the platform's reconciliation of each entitlement's
 * quota_used: the records the log holds for that subject. Served only when MCP_USAGE_REPORT_KEY is
 * set (the original answers anyone without one), to callers that send it as X-Report-Key or as a
 * bearer, compared in constant time.
 */
@Injectable()
export class PlatformUsageService {
  private readonly logger = new Logger(PlatformUsageService.name);
  private readonly reportKeyDigest: Buffer | undefined;

  constructor(
    private readonly usage: PlatformUsageRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.reportKeyDigest = config.platform.reportKey === undefined ? undefined : digest(config.platform.reportKey);
  }

  get served(): boolean {
    return this.reportKeyDigest !== undefined;
  }

  async answer(method: string | undefined, headers: IncomingHttpHeaders, query: URLSearchParams): Promise<SummaryAnswer> {
    if (method !== 'GET') return failure(405, 'Method not allowed: read the usage summary with GET');
    if (!this.isReportKey(headers)) return failure(401, 'Unauthorized');
    const username = query.get('username') ?? '';
    if (username === '') return failure(400, 'username is required');
    if (username.length > MAX_USERNAME_LENGTH) return failure(400, `username must be at most ${MAX_USERNAME_LENGTH} characters`);
    const sinceText = query.get('since') ?? '';
    const since = sinceText === '' ? undefined : parseSince(sinceText);
    if (since === null) return failure(400, SINCE_HELP);
    try {
      const byTool = await this.usage.byTool(username, since);
      const total = (field: 'calls' | 'records') => byTool.reduce((sum, tool) => sum + tool[field], 0);
      return { status: 200, body: { username, since: sinceText || 'all_time', total_calls: total('calls'), total_records: total('records'), by_tool: byTool } };
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.logger.warn({ err: error.cause }, 'usage summary failed: the database did not answer');
      return failure(503, 'The usage log cannot be read right now; try again shortly');
    }
  }

  private isReportKey(headers: IncomingHttpHeaders): boolean {
    const expected = this.reportKeyDigest;
    if (!expected) return false;
    const header = headers['x-report-key'];
    const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '')?.[1]?.trim();
    return [typeof header === 'string' ? header : undefined, bearer].some((offered) => offered !== undefined && timingSafeEqual(digest(offered), expected));
  }
}

/** Equal-length digests, so the comparison's time says nothing of the key's length or content. */
const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * `since` as the original takes it (a date or a date-time, which it hands to ClickHouse); as an
 * instant: without a zone it is UTC (the original's ClickHouse reads it in the server's zone, UTC
 * in its docker setup). null when it is no such moment or outside what a DateTime holds.
 */
export function parseSince(text: string): Date | null {
  const match = SINCE_PATTERN.exec(text);
  if (!match) return null;
  const [year, month, day, hour = 0, minute = 0, second = 0] = match.slice(1, 7).map((part) => (part === undefined ? undefined : Number(part))) as number[];
  const utc = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const exact = utc.getUTCFullYear() === year && utc.getUTCMonth() === month - 1 && utc.getUTCDate() === day && hour < 24 && minute < 60 && second < 60;
  if (!exact) return null;
  const instant = new Date(utc.getTime() - zoneOffsetMs(match[7]));
  return instant.getTime() >= 0 && instant.getTime() <= (2 ** 32 - 1) * 1000 ? instant : null;
}

function zoneOffsetMs(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  return sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
}
