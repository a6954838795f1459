// The report's sections, in run order. A section is { title (string or ctx => string),
// measure(ctx) → data, render(data, ctx) → markdown }; adding one is a file here plus a line below.
import { gatewayProfile } from './gateway-profile.mjs';
import { keyVerification } from './key-verification.mjs';
import { mcpThroughput } from './mcp-throughput.mjs';
import { strangerFlood } from './stranger-flood.mjs';
import { usageIngest } from './usage-ingest.mjs';
import { usageQueries } from './usage-queries.mjs';

export function sectionsFor(options) {
  return [
    // First, while mcp_tool_usage_log is small and ClickHouse has no merges to run.
    mcpThroughput,
    strangerFlood,
    keyVerification,
    usageIngest,
    usageQueries,
    ...(options.profile ? [gatewayProfile] : []),
  ];
}
