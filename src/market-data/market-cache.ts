import { performance } from 'node:perf_hooks';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { MarketDataRepository, type Row } from './market-data.repository.js';
import { type CacheOutcome, ResultCache, canonicalJson } from './result-cache.js';
import { type StockTool, type ToolOutput, capRows, readRows, runStockTool } from './stock-tool.js';
import { TableChangeWatcher } from './table-change-watcher.js';

export interface CachedOutput {
  output: ToolOutput;
  /** True when the call ran no query of its own (a stored answer, or one shared with an identical call under way). */
  cached: boolean;
}

/**
 * What an entry holds in the heap besides its rows and key: the entry object, the LRU's slots and
 * the per-table index, about 244 bytes measured for an empty answer. Without it, a flood of distinct
 * empty answers (random search queries) would fit in the bound by the tens of millions.
 */
export const ENTRY_OVERHEAD_BYTES = 256;

/** An answer's size in the byte bound: its rows' JSON length (UTF-16 code units; bytes for ASCII), its key's, and the entry's own. */
export const answerSize = (rows: readonly Row[], key: string) => ENTRY_OVERHEAD_BYTES + key.length + JSON.stringify(rows).length;

/**
 * The data tools' answers, kept in process (MARKET_CACHE_MAX_BYTES, 0 = off) and dropped when a
 * table they read changes: its active parts are checked every MARKET_CACHE_CHECK_MS, and nothing is
 * served unless a check started within twice that, so a change shows in answers within
 * 2 × MARKET_CACHE_CHECK_MS (also when the check fails: then nothing is served until one works).
 *
 * What is kept is the tool's rows at its own cap, keyed by tool and validated arguments; each call
 * then cuts them to what it may return (a record quota's rest), so metering sees exactly what the
 * caller got. Rows are frozen: every caller shares them.
 */
@Injectable()
export class MarketCache implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(MarketCache.name);
  readonly results: ResultCache<readonly Row[]> | undefined;
  private readonly watcher: TableChangeWatcher;
  private readonly checkMs: number;
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private stopped = false;

  constructor(
    private readonly data: MarketDataRepository,
    clickhouse: ClickHouseService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    const { maxBytes, checkMs } = config.marketCache;
    this.checkMs = checkMs;
    this.watcher = new TableChangeWatcher(clickhouse);
    this.results = maxBytes > 0 ? new ResultCache({ maxBytes, sizeOf: answerSize, freshForMs: 2 * checkMs }) : undefined;
  }

  /** The tool's output for validated `args`, cut to `maxRows`; from the cache when it may serve. */
  async run(tool: StockTool, args: unknown, maxRows?: number): Promise<CachedOutput> {
    if (!this.results) return { output: await runStockTool(tool, args, this.data, maxRows), cached: false };
    const key = `${tool.name}\n${canonicalJson(args)}`;
    const tables = [tool.table, ...(tool.alsoReads?.(args as never) ?? [])];
    const answer = await this.results.get(key, tables, async () => frozen(await readRows(tool, args, this.data)));
    return { output: capRows(tool, answer.value, maxRows), cached: isCached(answer.outcome) };
  }

  onApplicationBootstrap(): void {
    if (this.results) this.scheduleCheck();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Checks run one after another, each checkMs after the last ended; a slow one only delays the next (the freshness rule covers it). */
  private scheduleCheck(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.checkForChanges().finally(() => this.scheduleCheck()), this.checkMs);
    this.timer.unref();
  }

  /** One query for every table with answers kept; never throws (a failure makes the cache stop serving instead). */
  async checkForChanges(): Promise<void> {
    const results = this.results!;
    const tables = results.watchedTables();
    if (tables.length === 0) return;
    const startedAt = performance.now();
    try {
      const snapshot = await this.watcher.snapshot(tables);
      results.checked(startedAt, tables, this.watcher.changedSince(tables, snapshot));
      if (this.failing) this.logger.log('market data change check works again; the result cache serves again');
      this.failing = false;
    } catch (error) {
      results.checkFailed();
      // A check cut short by shutdown (the ClickHouse clients close) is no news.
      if (!this.failing && !this.stopped) this.logger.warn({ err: error }, 'market data change check failed; the result cache serves nothing until a check works');
      this.failing = true;
    }
  }
}

const isCached = (outcome: CacheOutcome) => outcome !== 'miss';

function frozen(rows: Row[]): readonly Row[] {
  for (const row of rows) Object.freeze(row);
  return Object.freeze(rows);
}
