import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreUnavailableError } from '../clickhouse/clickhouse-errors.js';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { loadAppConfig } from '../config/app-config.js';
import { clickHouseUrl } from '../../test/support/clickhouse.js';
import { type AdoptedServices, adoptedServices } from '../../test/support/services.js';
import { usageRecordFixture } from '../../test/support/usage-record.js';
import { pollUntil } from '../../scripts/lib/poll.mjs';
import { truncate, type UsageRecord } from './usage-record.js';
import { UsageSpool } from './usage-spool.js';
import { UsageWriter } from './usage-writer.js';
import { UsageRepository } from './usage.repository.js';
import { join as joinSql, sql, str } from '../clickhouse/sql.js';

const userId = 'writer-spec-user';

/**
 * A schema adopted on the real test server, for writers whose own ClickHouse never answers: the
 * repository learns the table's columns from it, as it would have at start-up.
 */
let adopted: AdoptedServices | undefined;
async function adoptedSchema() {
  adopted ??= await adoptedServices('writer_schema');
  return adopted.schema;
}

afterAll(async () => {
  await adopted?.close();
});

const usageRecord = (changes: Partial<UsageRecord> = {}): UsageRecord => usageRecordFixture({ user_id: userId, api_key_id: 'writer-spec-key', ...changes });

async function waitUntilShipped(writer: UsageWriter): Promise<void> {
  await pollUntil(() => writer.status().queue_depth, (depth) => depth === 0, { timeoutMs: 10_000, intervalMs: 20 });
}

describe(UsageWriter.name, () => {
  let services: AdoptedServices;
  let spoolDir: string;
  let repository: UsageRepository;
  let writer: UsageWriter;

  const writerConfig = () => loadAppConfig({ CLICKHOUSE_URL: clickHouseUrl(), CLICKHOUSE_DATABASE: services.database, USAGE_SPOOL_DIR: spoolDir, USAGE_FLUSH_INTERVAL_MS: '50' });

  beforeAll(async () => {
    services = await adoptedServices('writer');
    repository = services.usage;
  });

  beforeEach(async () => {
    spoolDir = mkdtempSync(join(tmpdir(), 'usage-writer-spec-'));
    writer = new UsageWriter(repository, writerConfig());
    await writer.onModuleInit();
  });

  afterEach(async () => {
    await writer.beforeApplicationShutdown();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  afterAll(async () => {
    await services.close();
  });

  const storedCopies = async (records: UsageRecord[]) => {
    const rows = await services.clickhouse.query<{ id: string }>(sql`SELECT id FROM mcp_tool_usage_log WHERE user_id = ${str(userId)} AND id IN (${joinSql(records.map((record) => str(record.id)), ', ')})`);
    return rows.map((row) => row.id).sort();
  };

  /** The repository, but the first insert's answer is lost: the rows land, then the connection drops. */
  const losingFirstAnswer = () => {
    const losing = { repository: Object.create(repository) as UsageRepository, dropped: false };
    losing.repository.insert = async (records, options) => {
      await repository.insert(records, options);
      if (losing.dropped) return;
      losing.dropped = true;
      throw new StoreUnavailableError(new Error('socket hang up'));
    };
    return losing;
  };

  it('should not store a batch twice when the answer to its insert was lost', async () => {
    const losing = losingFirstAnswer();
    await writer.beforeApplicationShutdown();
    writer = new UsageWriter(losing.repository, writerConfig());
    await writer.onModuleInit();
    const records = [usageRecord(), usageRecord(), usageRecord()];

    await Promise.all(records.map((record) => writer.record(record)));
    await waitUntilShipped(writer);

    expect(losing.dropped).toBe(true);
    expect(await storedCopies(records)).toEqual(records.map((record) => record.id).sort());
    expect(writer.status()).toMatchObject({ queue_depth: 0, records_written: 0, records_already_stored: 3, retries: 1 });
  });

  it('should report the records of a lost answer stored once: to a reader while it backs off, never again after', async () => {
    const losing = losingFirstAnswer();
    await writer.beforeApplicationShutdown();
    writer = new UsageWriter(losing.repository, loadAppConfig({ CLICKHOUSE_URL: clickHouseUrl(), CLICKHOUSE_DATABASE: services.database, USAGE_SPOOL_DIR: spoolDir, USAGE_FLUSH_INTERVAL_MS: '50', USAGE_RETRY_BASE_DELAY_MS: '2000' }));
    const events: string[] = [];
    writer.listen({ spooled: (record) => events.push(`spooled ${record.id}`), stored: (stored) => stored.forEach((record) => events.push(`stored ${record.id}`)), dropped: () => undefined });
    await writer.onModuleInit();
    const records = [usageRecord(), usageRecord()];
    await Promise.all(records.map((record) => writer.record(record)));
    await pollUntil(() => losing.dropped, (done) => done, { timeoutMs: 5000, intervalMs: 10 });

    // Backing off now: a reader of the log learns first that both landed.
    await writer.whileNoInsertRuns(() => Promise.resolve());
    const stored = () => events.filter((event) => event.startsWith('stored')).sort();
    expect(stored()).toEqual(records.map((record) => `stored ${record.id}`).sort());
    await waitUntilShipped(writer);
    expect(stored()).toEqual(records.map((record) => `stored ${record.id}`).sort());
    expect(writer.status()).toMatchObject({ queue_depth: 0, records_already_stored: 2 });
  });

  it('should ship what an earlier process left in its spool, skipping the records that had landed', async () => {
    await writer.beforeApplicationShutdown();
    const records = Array.from({ length: 6 }, () => usageRecord());
    const leftBehind = new UsageSpool({ dir: spoolDir, maxBytes: 1 << 20, segmentRecords: 100 });
    await leftBehind.open();
    await Promise.all(records.map((record) => leftBehind.append(record)));
    await leftBehind.close();
    // The earlier process had shipped the first half when it was killed.
    await repository.insert(records.slice(0, 3));

    writer = new UsageWriter(repository, writerConfig());
    await writer.onModuleInit();
    await waitUntilShipped(writer);

    expect(await storedCopies(records)).toEqual(records.map((record) => record.id).sort());
    expect(writer.status()).toMatchObject({ queue_depth: 0, records_written: 3, records_already_stored: 3 });
  });

  it('should ship a lone record within the flush interval and empty the spool', async () => {
    const record = usageRecord();
    await writer.record(record);
    await waitUntilShipped(writer);

    expect(writer.status()).toMatchObject({ queue_depth: 0, records_written: 1, records_rejected: 0, spool_bytes: 0 });
    expect(await storedCopies([record])).toEqual([record.id]);
    expect(readdirSync(spoolDir).filter((name) => name.endsWith('.spool'))).toEqual([]);
  });

  it('should set aside a record ClickHouse refuses and still ship the others of its batch', async () => {
    // A lone surrogate, as a hostile client could send before usage records were sanitized.
    const poisoned = usageRecord({ tool_name: '\ud800' });
    const good = [usageRecord(), usageRecord()];
    await Promise.all([writer.record(good[0]), writer.record(poisoned), writer.record(good[1])]);
    await waitUntilShipped(writer);

    expect(writer.status()).toMatchObject({ queue_depth: 0, records_written: 2, records_rejected: 1 });
    expect(await storedCopies([...good, poisoned])).toEqual(good.map((record) => record.id).sort());
    const [rejected] = readFileSync(join(spoolDir, 'rejected.jsonl'), 'utf8').trim().split('\n');
    expect(JSON.parse(rejected).id).toBe(poisoned.id);
  });

  it('should refuse records once shut down', async () => {
    await writer.beforeApplicationShutdown();
    expect(writer.isAccepting()).toBe(false);
    await expect(writer.record(usageRecord())).rejects.toThrow('the usage spool is closed');
  });
});

describe(`${UsageWriter.name} when ClickHouse hangs`, () => {
  let blackHole: Server;
  let spoolDir: string;

  beforeAll(async () => {
    // Accepts connections and never answers, as a ClickHouse stuck behind a dead network would.
    blackHole = createServer(() => undefined);
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    spoolDir = mkdtempSync(join(tmpdir(), 'usage-writer-hang-'));
  });

  afterAll(async () => {
    blackHole.closeAllConnections();
    await new Promise((resolve) => blackHole.close(resolve));
    rmSync(spoolDir, { recursive: true, force: true });
  });

  it('should give up within the shutdown timeout and keep the record spooled', async () => {
    const { port } = blackHole.address() as AddressInfo;
    const config = loadAppConfig({
      CLICKHOUSE_URL: `http://127.0.0.1:${port}`,
      CLICKHOUSE_REQUEST_TIMEOUT_MS: '60000',
      USAGE_SPOOL_DIR: spoolDir,
      USAGE_SHUTDOWN_FLUSH_TIMEOUT_MS: '500',
    });
    const clickhouse = new ClickHouseService(config);
    const writer = new UsageWriter(new UsageRepository(clickhouse, await adoptedSchema()), config);
    await writer.onModuleInit();
    await writer.record(usageRecord());

    const started = Date.now();
    await writer.beforeApplicationShutdown();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(writer.status()).toMatchObject({ queue_depth: 1, records_written: 0 });
    expect(readdirSync(spoolDir).filter((name) => name.endsWith('.spool'))).toHaveLength(1);
    await clickhouse.onApplicationShutdown();
  });

  it('should start within USAGE_STARTUP_FLUSH_TIMEOUT_MS when ClickHouse hangs, and report the leftovers as spooled', async () => {
    const { port } = blackHole.address() as AddressInfo;
    const config = loadAppConfig({
      CLICKHOUSE_URL: `http://127.0.0.1:${port}`,
      // A spool of its own: the test above leaves a record in spoolDir.
      USAGE_SPOOL_DIR: join(spoolDir, 'start'),
      USAGE_SHUTDOWN_FLUSH_TIMEOUT_MS: '200',
      USAGE_STARTUP_FLUSH_TIMEOUT_MS: '300',
      // The recovered segment's first step asks whether an insert still runs: that read waits for this.
      CLICKHOUSE_REQUEST_TIMEOUT_MS: '500',
    });
    const clickhouse = new ClickHouseService(config);
    const newWriter = async () => new UsageWriter(new UsageRepository(clickhouse, await adoptedSchema()), config);
    const earlier = await newWriter();
    await earlier.onModuleInit();
    const left = [usageRecord(), usageRecord()];
    for (const record of left) await earlier.record(record);
    await earlier.beforeApplicationShutdown();

    const writer = await newWriter();
    const spooled: string[] = [];
    writer.listen({ spooled: (record) => spooled.push(record.id), stored: () => undefined, dropped: () => undefined });
    const started = Date.now();
    await writer.onModuleInit();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(spooled.sort()).toEqual(left.map((record) => record.id).sort());
    expect(writer.status()).toMatchObject({ queue_depth: 2, records_written: 0 });
    await writer.beforeApplicationShutdown();
    await clickhouse.onApplicationShutdown();
  });
});

describe(`${UsageWriter.name} shutdown deadline`, () => {
  let spoolDir: string;

  beforeEach(() => {
    spoolDir = mkdtempSync(join(tmpdir(), 'usage-writer-deadline-'));
  });

  afterEach(() => {
    rmSync(spoolDir, { recursive: true, force: true });
  });

  const startWriter = async (clickhouseUrl: string, settings: Record<string, string>) => {
    const config = loadAppConfig({ CLICKHOUSE_URL: clickhouseUrl, USAGE_SPOOL_DIR: spoolDir, USAGE_SHUTDOWN_FLUSH_TIMEOUT_MS: '500', USAGE_FLUSH_INTERVAL_MS: '10', ...settings });
    const clickhouse = new ClickHouseService(config);
    const writer = new UsageWriter(new UsageRepository(clickhouse, await adoptedSchema()), config);
    await writer.onModuleInit();
    return { writer, clickhouse };
  };

  const timeShutdown = async (writer: UsageWriter) => {
    const started = Date.now();
    await writer.beforeApplicationShutdown();
    return Date.now() - started;
  };

  it('should cut short a backoff sleep chosen before the signal', async () => {
    // Nothing listens on port 9 of this host: every insert fails at once, then waits 10..20 s.
    const { writer, clickhouse } = await startWriter('http://127.0.0.1:9', { USAGE_RETRY_BASE_DELAY_MS: '10000', USAGE_RETRY_MAX_DELAY_MS: '60000' });
    await writer.record(usageRecord());
    expect(await pollUntil(() => writer.status().retries, (retries) => retries > 0, { timeoutMs: 5000, intervalMs: 10 })).toBe(1);

    expect(await timeShutdown(writer)).toBeLessThan(1500);
    expect(writer.status()).toMatchObject({ queue_depth: 1, records_written: 0 });
    await clickhouse.onApplicationShutdown();
  });

  it('should abandon an insert sent before the signal once the deadline passes', async () => {
    let requests = 0;
    const blackHole = createServer(() => void requests++);
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const { port } = blackHole.address() as AddressInfo;
    const { writer, clickhouse } = await startWriter(`http://127.0.0.1:${port}`, { CLICKHOUSE_REQUEST_TIMEOUT_MS: '60000' });
    await writer.record(usageRecord());
    expect(await pollUntil(() => requests, (count) => count > 0, { timeoutMs: 5000, intervalMs: 10 })).toBe(1);

    expect(await timeShutdown(writer)).toBeLessThan(1500);
    expect(writer.status()).toMatchObject({ queue_depth: 1, records_written: 0 });
    expect(readdirSync(spoolDir).filter((name) => name.endsWith('.spool'))).toHaveLength(1);
    await clickhouse.onApplicationShutdown();
    blackHole.closeAllConnections();
    await new Promise((resolve) => blackHole.close(resolve));
  });
});

describe(truncate.name, () => {
  it('should keep text within the limit unchanged', () => {
    expect(truncate('search_stocks', 200)).toBe('search_stocks');
  });

  it('should never cut an emoji in half', () => {
    expect(truncate('ab😀😀', 4)).toBe('ab…');
    expect(truncate('abc😀', 4)).toBe('abc…');
  });

  it('should replace a lone surrogate', () => {
    expect(truncate('\ud800x', 10)).toBe('\ufffdx');
  });
});
