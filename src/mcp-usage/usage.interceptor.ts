import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { formatDateTime } from '../clickhouse/sql.js';
import { MAX_ERROR_MESSAGE_LENGTH, serializeArguments, truncate } from './usage-record.js';
import { UsageWriter } from './usage-writer.js';

/** The facts of one finished tool call that the usage log keeps. */
export interface ToolCallFacts {
  table: string;
  recordCount: number;
  errorMessage: string | null;
}

export interface CallIdentity {
  userId: string;
  keyId: string;
}

export class UsageUnavailableError extends Error {
  constructor() {
    super('Usage cannot be recorded right now, so the call was not run. Try again shortly.');
  }
}

/**
 * The usage interceptor: wraps every tools/call (each call of a batch too), successful or not,
 * and hands its record to the UsageWriter queue. The call never waits for ClickHouse. A call whose
 * record could not be kept is not run at all (UsageUnavailableError), so no served call goes
 * unrecorded.
 */
@Injectable()
export class UsageInterceptor {
  constructor(private readonly writer: UsageWriter) {}

  async intercept<Facts extends ToolCallFacts>(identity: CallIdentity, toolName: string, args: unknown, run: () => Promise<Facts>): Promise<Facts> {
    if (!this.writer.reserve()) throw new UsageUnavailableError();
    const startedAt = new Date();
    const started = performance.now();
    let facts: Facts | undefined;
    try {
      facts = await run();
      return facts;
    } finally {
      this.writer.enqueue({
        id: randomUUID(),
        user_id: identity.userId,
        api_key_id: identity.keyId,
        tool_name: toolName,
        table_name: facts?.table ?? '',
        arguments: serializeArguments(args),
        record_count: facts?.recordCount ?? 0,
        duration_ms: Math.round(performance.now() - started),
        is_error: facts === undefined || facts.errorMessage !== null ? 1 : 0,
        error_message: truncate(facts === undefined ? 'internal error' : (facts.errorMessage ?? ''), MAX_ERROR_MESSAGE_LENGTH),
        created_at: formatDateTime(startedAt),
      });
    }
  }
}
