// Usage-log ingest: records/s the UsageWriter sustains into ClickHouse with durability on.
// The app's own UsageWriter (spool with group commit + shipper) is driven in the bench process
// by many concurrent record() calls, as concurrent tool calls drive it in the gateway.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { appClickHouse, importDist } from '../lib/dist.mjs';
import { table } from '../lib/markdown.mjs';
import { formatInt, formatNumber } from '../lib/stats.mjs';

const RECORDS = 200_000;
const IN_FLIGHT = [1, 64, 512];
const SINGLE_RECORDS = 2_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function usageRecord(userId, n) {
  return {
    id: randomUUID(),
    user_id: userId,
    api_key_id: 'bench-ingest-key',
    tool_name: 'search_stocks',
    service_prefix: 'tushare_stock_basic',
    table_name: 'ods_stock_basic',
    arguments: `{"query":"ingest-${n}"}`,
    record_count: n % 200,
    duration_ms: 3,
    is_error: 0,
    error_message: '',
    created_at: Math.floor(Date.now() / 1000),
  };
}

/** Keeps `inFlight` record() calls going until `count` records are on disk; resolves with seconds. */
async function appendAll(writer, count, inFlight, makeRecord) {
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < count) await writer.record(makeRecord(next++));
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return (performance.now() - started) / 1000;
}

async function waitUntilShipped(writer, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  while (writer.status().queue_depth > 0) {
    if (Date.now() > deadline) throw new Error(`usage writer did not drain: ${JSON.stringify(writer.status())}`);
    await sleep(20);
  }
}

async function runWriter(ctx, inFlight, count) {
  const { config: base, clickhouse } = await appClickHouse(ctx.distDir, ctx.clickhouse.url, ctx.clickhouse.database);
  const [{ UsageWriter }, { UsageRepository }, { SchemaService }] = await Promise.all([
    importDist(ctx.distDir, 'mcp-usage/usage-writer.js'),
    importDist(ctx.distDir, 'mcp-usage/usage.repository.js'),
    importDist(ctx.distDir, 'clickhouse/schema/schema.service.js'),
  ]);
  const config = { ...base, usage: { ...base.usage, spoolDir: join(ctx.scratchDir, `ingest-spool-${inFlight}`) } };
  const schema = new SchemaService(clickhouse);
  const repository = new UsageRepository(clickhouse, schema);
  await schema.adoptAll();
  const writer = new UsageWriter(repository, config);
  await writer.onModuleInit();
  const userId = `bench-ingest-${inFlight}`;
  try {
    const started = performance.now();
    const appendSeconds = await appendAll(writer, count, inFlight, (n) => usageRecord(userId, n));
    await waitUntilShipped(writer);
    const totalSeconds = (performance.now() - started) / 1000;
    const status = writer.status();
    const { batchSize, flushIntervalMs } = config.usage;
    return { inFlight, count, appendSeconds, totalSeconds, fsyncs: status.spool_fsyncs, batches: status.batches_written, batchSize, flushIntervalMs };
  } finally {
    await writer.beforeApplicationShutdown();
    await clickhouse.onApplicationShutdown();
  }
}

export async function measureUsageIngest(ctx) {
  const runs = [];
  for (const inFlight of IN_FLIGHT) runs.push(await runWriter(ctx, inFlight, inFlight === 1 ? SINGLE_RECORDS : RECORDS));
  return runs;
}

export function renderUsageIngest(runs) {
  const { batchSize, flushIntervalMs } = runs[0];
  const rows = runs.map((run) => [
    formatInt(run.inFlight),
    formatInt(run.count),
    formatInt(run.count / run.appendSeconds),
    formatNumber(run.count / run.fsyncs),
    formatInt(run.count / run.totalSeconds),
    formatInt(run.batches),
  ]);
  return [
    `The app's UsageWriter, in the bench process, fed by concurrent \`record()\` calls (each resolves once its record is written and fdatasync'ed in the spool), shipping to ClickHouse in batches of ${batchSize} (or every ${flushIntervalMs} ms). "In flight" is how many calls wait on the spool at once, as concurrent tool calls would. Ingest counts from the first record until ClickHouse has confirmed the last one.`,
    '',
    table(['in flight', 'records', 'durable appends/s', 'records per fsync', 'ingest into ClickHouse records/s', 'inserts'], rows, ['r', 'r', 'r', 'r', 'r', 'r']),
  ].join('\n');
}

export const usageIngest = {
  title: 'Usage-log ingest (durability on)',
  measure: measureUsageIngest,
  render: renderUsageIngest,
};
