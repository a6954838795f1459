export interface DurabilityOutcome {
  acknowledged: number;
  recorded: number;
  /** Acknowledged calls absent from mcp_tool_usage_log: must be empty. */
  missing: string[];
  /** Calls counted more than once: must be empty. */
  duplicated: string[];
  /** Recorded calls whose answer never reached the client (cut off by the kill): allowed. */
  unacknowledged: string[];
  failedCalls: number;
}

export function runDurabilityRound(options?: {
  clients?: number;
  clickhouseDownAfterMs?: number;
  killAfterMs?: number;
  log?: (line: string) => void;
}): Promise<DurabilityOutcome>;
