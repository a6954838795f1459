import { appendFileSync, closeSync, copyFileSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSpoolSegment, encodeSpoolLine } from './spool-format.js';
import { usageRecordFixture } from '../../test/support/usage-record.js';
import type { UsageRecord } from './usage-record.js';
import { SpoolLockedError, UsageSpool } from './usage-spool.js';

const usageRecord = (n: number): UsageRecord =>
  usageRecordFixture({
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    arguments: JSON.stringify({ query: `q${n}`, hostile: '\'"\\\n\t\u0000😀' }),
    record_count: n,
    duration_ms: 3,
    created_at: Date.parse('2026-11-25T10:00:00Z') / 1000,
  });

const segmentFiles = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.spool')).sort();
const linesBytes = (records: UsageRecord[]) => Buffer.byteLength(records.map(encodeSpoolLine).join(''));

describe(UsageSpool.name, () => {
  let dir: string;
  const opened: UsageSpool[] = [];

  async function openSpool(settings: { maxBytes?: number; segmentRecords?: number } = {}): Promise<UsageSpool> {
    const spool = new UsageSpool({ dir, maxBytes: settings.maxBytes ?? 1 << 20, segmentRecords: settings.segmentRecords ?? 1000 });
    opened.push(spool);
    await spool.open();
    return spool;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'usage-spool-spec-'));
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((spool) => spool.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('should read a line an earlier version wrote (created_at as UTC text, no service_prefix) in the current form', () => {
    const { created_at: _, service_prefix: _prefix, ...rest } = usageRecord(1);
    const old = encodeSpoolLine({ ...rest, created_at: '2026-11-25 10:00:00' } as unknown as UsageRecord);
    expect(decodeSpoolSegment(old).records).toEqual([{ ...usageRecord(1), service_prefix: '' }]);
  });

  it('should round-trip records with hostile text through the line format', () => {
    const records = [usageRecord(1), usageRecord(2)];
    expect(decodeSpoolSegment(records.map(encodeSpoolLine).join(''))).toEqual({ records, skipped: 0 });
  });

  it('should count a segment\'s records all the while it is sealed (health and metrics read them meanwhile)', async () => {
    const spool = await openSpool();
    await Promise.all([1, 2, 3].map((n) => spool.append(usageRecord(n))));
    const seen = new Set<number>();
    let sealed = false;
    const sealing = spool.seal().then(() => {
      sealed = true;
    });
    while (!sealed) {
      seen.add(spool.status().records);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await sealing;
    expect([...seen]).toEqual([3]);
    expect(spool.sealedSegments().map((segment) => segment.records)).toEqual([3]);
  });

  it('should put a burst of concurrent appends on disk with far fewer fsyncs than records', async () => {
    const spool = await openSpool();
    await Promise.all(Array.from({ length: 200 }, (_, n) => spool.append(usageRecord(n))));

    expect(spool.status()).toMatchObject({ records: 200, skippedCorrupt: 0 });
    expect(spool.status().fsyncs).toBeLessThanOrEqual(2);
    const [file] = segmentFiles(dir);
    expect(decodeSpoolSegment(readFileSync(join(dir, file), 'utf8')).records).toHaveLength(200);
  });

  it('should seal a segment once it holds a batch and keep appending to a new one', async () => {
    const spool = await openSpool({ segmentRecords: 3 });
    for (let n = 0; n < 7; n++) await spool.append(usageRecord(n));

    expect(segmentFiles(dir)).toEqual(['usage-000000000001.spool', 'usage-000000000002.spool', 'usage-000000000003.spool']);
    expect(await spool.read(spool.oldestSealed()!)).toEqual([0, 1, 2].map(usageRecord));
    expect(spool.activeRecords()).toBe(1);
    // A sealed file holds its lines and nothing after them (the zeros written ahead are cut off).
    expect(statSync(join(dir, 'usage-000000000001.spool')).size).toBe(linesBytes([0, 1, 2].map(usageRecord)));
  });

  it('should recover a segment a crash left open: its records, not the zeros written ahead of them, and a torn record among those zeros', async () => {
    const live = await openSpool();
    for (let n = 0; n < 5; n++) await live.append(usageRecord(n));
    const [file] = segmentFiles(dir);
    const acknowledged = linesBytes([0, 1, 2, 3, 4].map(usageRecord));
    expect(statSync(join(dir, file)).size).toBeGreaterThan(acknowledged);
    // What a crash of the live process leaves: its open segment, half of a sixth write, a stale lock.
    const crashed = mkdtempSync(join(tmpdir(), 'usage-spool-spec-'));
    try {
      copyFileSync(join(dir, file), join(crashed, file));
      const segment = openSync(join(crashed, file), 'r+');
      writeSync(segment, encodeSpoolLine(usageRecord(5)).slice(0, 40), acknowledged);
      closeSync(segment);
      writeFileSync(join(crashed, 'spool.lock'), '999999999');

      const recovered = new UsageSpool({ dir: crashed, maxBytes: 1 << 20, segmentRecords: 1000 });
      expect(await recovered.open()).toEqual({ segments: 1, records: 5, skipped: 1 });
      expect(await recovered.read(recovered.oldestSealed()!)).toEqual([0, 1, 2, 3, 4].map(usageRecord));
      expect(recovered.status().bytes).toBe(acknowledged + 40);
      await recovered.close();
    } finally {
      rmSync(crashed, { recursive: true, force: true });
    }
  });

  it('should recover what an earlier process left, skipping a torn last record but none before it', async () => {
    const first = await openSpool();
    for (let n = 0; n < 5; n++) await first.append(usageRecord(n));
    await first.close();
    const [file] = segmentFiles(dir);
    // A crash in the middle of the sixth write: half a line, no newline.
    appendFileSync(join(dir, file), encodeSpoolLine(usageRecord(5)).slice(0, 40));
    writeFileSync(join(dir, 'spool.lock'), '999999999');

    const second = new UsageSpool({ dir, maxBytes: 1 << 20, segmentRecords: 1000 });
    opened.push(second);
    expect(await second.open()).toEqual({ segments: 1, records: 5, skipped: 1 });
    expect(await second.read(second.oldestSealed()!)).toEqual([0, 1, 2, 3, 4].map(usageRecord));

    await second.append(usageRecord(6));
    expect(segmentFiles(dir)).toEqual(['usage-000000000001.spool', 'usage-000000000002.spool']);
  });

  it('should skip a record whose checksum does not match', () => {
    const [good, bad] = [usageRecord(1), usageRecord(2)].map(encodeSpoolLine);
    const flipped = bad.replace('"record_count":2', '"record_count":9');
    expect(decodeSpoolSegment(good + flipped)).toEqual({ records: [usageRecord(1)], skipped: 1 });
  });

  it('should delete a shipped segment and give its bytes back', async () => {
    const spool = await openSpool({ segmentRecords: 2 });
    await spool.append(usageRecord(1));
    await spool.append(usageRecord(2));
    const bytes = spool.status().bytes;
    expect(bytes).toBeGreaterThan(0);

    await spool.remove(spool.oldestSealed()!);
    expect(segmentFiles(dir)).toEqual([]);
    expect(spool.status()).toMatchObject({ records: 0, bytes: 0 });
  });

  it('should report no room once the byte cap is reached', async () => {
    const lineBytes = Buffer.byteLength(encodeSpoolLine(usageRecord(1)));
    const spool = await openSpool({ maxBytes: lineBytes * 3 });
    await spool.append(usageRecord(1));
    await spool.append(usageRecord(2));
    expect(spool.hasRoom()).toBe(true);

    await spool.append(usageRecord(3));
    expect(spool.hasRoom()).toBe(false);
  });

  it('should refuse a directory another app of this process holds', async () => {
    await openSpool();
    const second = new UsageSpool({ dir, maxBytes: 1 << 20, segmentRecords: 10 });
    await expect(second.open()).rejects.toThrow('in use by another app in this process');
  });

  it('should take over a lock left by a dead process', async () => {
    writeFileSync(join(dir, 'spool.lock'), '999999999');
    await openSpool();
    expect(readFileSync(join(dir, 'spool.lock'), 'utf8')).toBe(String(process.pid));
  });

  it('should refuse a directory another live process holds', async () => {
    writeFileSync(join(dir, 'spool.lock'), String(process.ppid));
    const spool = new UsageSpool({ dir, maxBytes: 1 << 20, segmentRecords: 10 });
    await expect(spool.open()).rejects.toThrow(SpoolLockedError);
  });
});
