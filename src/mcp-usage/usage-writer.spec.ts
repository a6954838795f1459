import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { MigrationRunner } from '../clickhouse/migration-runner.js';
import { loadAppConfig } from '../config/app-config.js';
import { clickHouseUrl, dropDatabase, uniqueDatabaseName } from '../../test/support/clickhouse.js';
import { usageRecordFixture } from '../../test/support/usage-record.js';
import { truncate, type UsageRecord } from './usage-record.js';
import { UsageWriter } from './usage-writer.js';
import { UsageRepository } from './usage.repository.js';

const userId = 'writer-spec-user';

const usageRecord = (changes: Partial<UsageRecord> = {}): UsageRecord => usageRecordFixture({ user_id: userId, api_key_id: 'writer-spec-key', ...changes });

async function waitUntilShipped(writer: UsageWriter): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (writer.status().queue_depth > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe(UsageWriter.name, () => {
  const database = uniqueDatabaseName('writer');
  let spoolDir: string;
  let clickhouse: ClickHouseService;
  let repository: UsageRepository;
  let writer: UsageWriter;

  beforeAll(async () => {
    clickhouse = new ClickHouseService(loadAppConfig({ CLICKHOUSE_URL: clickHouseUrl(), CLICKHOUSE_DATABASE: database }));
    await new MigrationRunner(clickhouse).run();
    repository = new UsageRepository(clickhouse);
  });

  beforeEach(async () => {
    spoolDir = mkdtempSync(join(tmpdir(), 'usage-writer-spec-'));
    const config = loadAppConfig({ CLICKHOUSE_URL: clickHouseUrl(), CLICKHOUSE_DATABASE: database, USAGE_SPOOL_DIR: spoolDir, USAGE_FLUSH_INTERVAL_MS: '50' });
    writer = new UsageWriter(repository, config);
    await writer.onModuleInit();
  });

  afterEach(async () => {
    await writer.beforeApplicationShutdown();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  afterAll(async () => {
    await clickhouse.onApplicationShutdown();
    await dropDatabase(database);
  });

  it('should ship a lone record within the flush interval and empty the spool', async () => {
    const record = usageRecord();
    await writer.record(record);
    await waitUntilShipped(writer);

    expect(writer.status()).toMatchObject({ queue_depth: 0, records_written: 1, records_rejected: 0, spool_bytes: 0 });
    expect((await repository.page({ userId }, 100, 0)).map((row) => row.id)).toContain(record.id);
    expect(readdirSync(spoolDir).filter((name) => name.endsWith('.spool'))).toEqual([]);
  });

  it('should set aside a record ClickHouse refuses and still ship the others of its batch', async () => {
    // A lone surrogate, as a hostile client could send before usage records were sanitized.
    const poisoned = usageRecord({ tool_name: '\ud800' });
    const good = [usageRecord(), usageRecord()];
    await Promise.all([writer.record(good[0]), writer.record(poisoned), writer.record(good[1])]);
    await waitUntilShipped(writer);

    expect(writer.status()).toMatchObject({ queue_depth: 0, records_written: 2, records_rejected: 1 });
    const stored = (await repository.page({ userId }, 100, 0)).map((row) => row.id);
    expect(stored).toEqual(expect.arrayContaining(good.map((record) => record.id)));
    expect(stored).not.toContain(poisoned.id);
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
    const writer = new UsageWriter(new UsageRepository(clickhouse), config);
    await writer.onModuleInit();
    await writer.record(usageRecord());

    const started = Date.now();
    await writer.beforeApplicationShutdown();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(writer.status()).toMatchObject({ queue_depth: 1, records_written: 0 });
    expect(readdirSync(spoolDir).filter((name) => name.endsWith('.spool'))).toHaveLength(1);
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
    const writer = new UsageWriter(new UsageRepository(clickhouse), config);
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
    const deadline = Date.now() + 5000;
    while (writer.status().retries === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(writer.status().retries).toBe(1);

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
    const deadline = Date.now() + 5000;
    while (requests === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(requests).toBe(1);

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
