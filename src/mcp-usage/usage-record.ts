/** One row of mcp_tool_usage_log, in the JSONEachRow form ClickHouse reads. */
export interface UsageRecord {
  id: string;
  user_id: string;
  api_key_id: string;
  tool_name: string;
  /** The data plugin the tool belongs to, as the original service names them (tushare_daily, ...). */
  service_prefix: string;
  table_name: string;
  arguments: string;
  record_count: number;
  duration_ms: number;
  is_error: 0 | 1;
  error_message: string;
  /** Seconds since the epoch: written so, a DateTime means the same instant whatever its time zone. */
  created_at: number;
}

/**
 * A record as the spool holds it. Spools written by earlier versions hold created_at as UTC text
 * and no service_prefix; those are brought to the current form when read.
 */
export function normalizeSpooledRecord(record: UsageRecord | (Omit<UsageRecord, 'created_at' | 'service_prefix'> & { created_at: string; service_prefix?: string })): UsageRecord {
  const createdAt = typeof record.created_at === 'string' ? Date.parse(`${record.created_at.replace(' ', 'T')}Z`) / 1000 : record.created_at;
  return { ...record, service_prefix: record.service_prefix ?? '', created_at: createdAt };
}

export const MAX_ARGUMENTS_LENGTH = 2000;
export const MAX_ERROR_MESSAGE_LENGTH = 1000;
/** Tool names come from the client: an unknown one is recorded too, so it is capped. */
export const MAX_TOOL_NAME_LENGTH = 200;

/**
 * At most `max` UTF-16 units, well-formed: a lone surrogate (sent by a client, or left by the cut)
 * would make ClickHouse reject the whole batch it travels in, so none is ever stored.
 */
export function truncate(text: string, max: number): string {
  const wellFormed = text.toWellFormed();
  if (wellFormed.length <= max) return wellFormed;
  return `${wellFormed.slice(0, max - 1).toWellFormed().replace(/\uFFFD$/, '')}…`;
}

/** Arguments as JSON, cut to MAX_ARGUMENTS_LENGTH characters. */
export function serializeArguments(args: unknown): string {
  let json: string;
  try {
    json = JSON.stringify(args ?? {}) ?? '{}';
  } catch {
    json = '"<unserializable arguments>"';
  }
  return truncate(json, MAX_ARGUMENTS_LENGTH);
}
