/** One row of mcp_tool_usage_log, in the JSONEachRow form ClickHouse reads. */
export interface UsageRecord {
  id: string;
  user_id: string;
  api_key_id: string;
  tool_name: string;
  table_name: string;
  arguments: string;
  record_count: number;
  duration_ms: number;
  is_error: 0 | 1;
  error_message: string;
  created_at: string;
}

export const MAX_ARGUMENTS_LENGTH = 2000;
export const MAX_ERROR_MESSAGE_LENGTH = 1000;

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
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
