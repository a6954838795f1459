import { Inject, Injectable, Logger } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock.js';
import { uuidV7 } from '../common/uuid-v7.js';
import { unixSeconds } from '../clickhouse/datetime.js';
import { ToolCallMetrics } from '../market-data/tool-call.metrics.js';
import { MAX_ERROR_MESSAGE_LENGTH, MAX_TOOL_NAME_LENGTH, type UsageRecord, serializeArguments, truncate } from './usage-record.js';
import { UsageWriter } from './usage-writer.js';

/** The facts of one finished tool call that the usage log keeps. */
export interface ToolCallFacts {
  table: string;
  servicePrefix: string;
  recordCount: number;
  errorMessage: string | null;
}

export interface CallIdentity {
  userId: string;
  keyId: string;
}

export class UsageUnavailableError extends Error {
  constructor() {
    super('Usage cannot be recorded right now, so the call was not answered. Try again shortly.');
  }
}

/**
 * The usage interceptor: wraps every tools/call (each call of a batch too), successful or not.
 * Its record is on local disk before the result goes back (the UsageWriter ships it to ClickHouse
 * later), so no answered call goes unrecorded. When the record cannot be kept (spool full, disk
 * failing, shutting down) the call is answered with UsageUnavailableError instead of its result.
 */
@Injectable()
export class UsageInterceptor {
  private readonly logger = new Logger(UsageInterceptor.name);

  constructor(
    private readonly writer: UsageWriter,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly metrics: ToolCallMetrics,
  ) {}

  /** Runs the call and keeps its record; `kept` learns of the record once it is spooled (before the call is answered). */
  async intercept<Facts extends ToolCallFacts>(identity: CallIdentity, toolName: string, args: unknown, run: () => Promise<Facts>, kept: (record: UsageRecord) => void): Promise<Facts> {
    if (!this.writer.isAccepting()) throw new UsageUnavailableError();
    const startedAt = this.clock.now();
    // Time-ordered: history lists calls of the same second in the order they started.
    const id = uuidV7(startedAt.getTime());
    const started = performance.now();
    const outcome = await run().then(
      (facts) => ({ facts, failure: undefined }),
      (failure: unknown) => ({ facts: undefined, failure }),
    );
    const { facts } = outcome;
    const durationMs = performance.now() - started;
    const record: UsageRecord = {
      id,
      user_id: identity.userId,
      api_key_id: identity.keyId,
      tool_name: truncate(toolName, MAX_TOOL_NAME_LENGTH),
      service_prefix: facts?.servicePrefix ?? '',
      table_name: facts?.table ?? '',
      arguments: serializeArguments(args),
      record_count: facts?.recordCount ?? 0,
      duration_ms: Math.round(durationMs),
      is_error: facts === undefined || facts.errorMessage !== null ? 1 : 0,
      error_message: truncate(facts === undefined ? 'internal error' : (facts.errorMessage ?? ''), MAX_ERROR_MESSAGE_LENGTH),
      created_at: unixSeconds(startedAt),
    };
    this.metrics.observeToolCall({ tool: toolName, table: record.table_name, records: record.record_count, failed: record.is_error === 1, seconds: durationMs / 1000 });
    await this.keep(record);
    kept(record);
    if (facts === undefined) throw outcome.failure;
    return facts;
  }

  private async keep(record: UsageRecord): Promise<void> {
    try {
      await this.writer.record(record);
    } catch (error) {
      this.logger.error({ tool: record.tool_name, err: error }, 'usage record could not be spooled; the call is answered with an error');
      throw new UsageUnavailableError();
    }
  }
}
