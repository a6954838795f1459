// The report's sections, in run order. A section is { title (string or ctx => string),
// measure(ctx) → data, render(data, ctx) → markdown }; adding one is a file here plus a line below.
import { consoleRender } from './console-render.mjs';
import { gatewayProfile } from './gateway-profile.mjs';
import { keyVerification } from './key-verification.mjs';
import { cacheFreshness, popularStocks, popularStocksUncached } from './market-cache.mjs';
import { mcpThroughput } from './mcp-throughput.mjs';
import { metering } from './metering.mjs';
import { strangerFlood } from './stranger-flood.mjs';
import { usageIngest } from './usage-ingest.mjs';
import { usageQueries } from './usage-queries.mjs';

/** Every section by the name `--only` takes, in run order. */
export const SECTIONS = {
  // First, while mcp_tool_usage_log is small and ClickHouse has no merges to run.
  'mcp-throughput': mcpThroughput,
  'popular-stocks-uncached': popularStocksUncached,
  'popular-stocks': popularStocks,
  'stranger-flood': strangerFlood,
  'key-verification': keyVerification,
  metering,
  'usage-ingest': usageIngest,
  'usage-queries': usageQueries,
  'console-render': consoleRender,
  // Inserts corrected bars: after every section that reads ods_daily.
  'cache-freshness': cacheFreshness,
  'gateway-profile': gatewayProfile,
};

export function sectionsFor(options) {
  const wanted = options.only ?? Object.keys(SECTIONS).filter((name) => name !== 'gateway-profile' || options.profile);
  const unknown = wanted.filter((name) => !(name in SECTIONS));
  if (unknown.length > 0) throw new Error(`--only: unknown section ${unknown.join(', ')}; known: ${Object.keys(SECTIONS).join(', ')}`);
  return Object.entries(SECTIONS).filter(([name]) => wanted.includes(name)).map(([, section]) => section);
}
