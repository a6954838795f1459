import { crc32 } from 'node:zlib';
import { type UsageRecord, normalizeSpooledRecord } from './usage-record.js';

/**
 * One spooled record per line: the CRC-32 of the JSON as 8 hex digits, a space, the JSON, "\n".
 * A crash can leave the last line of a segment torn (cut short, or garbage after a power loss);
 * the checksum and the final newline let a reader tell whole records from torn ones.
 */
export function encodeSpoolLine(record: UsageRecord): string {
  const json = JSON.stringify(record);
  return `${checksum(json)} ${json}\n`;
}

export interface DecodedSegment {
  records: UsageRecord[];
  /** Lines that failed their checksum or were cut short; never shipped. */
  skipped: number;
}

export function decodeSpoolSegment(text: string): DecodedSegment {
  const lines = text.split('\n');
  // Whatever follows the last newline is a record whose write never finished.
  const tail = lines.pop() ?? '';
  const decoded: DecodedSegment = { records: [], skipped: tail === '' ? 0 : 1 };
  for (const line of lines) {
    const record = decodeLine(line);
    if (record) decoded.records.push(record);
    else if (line !== '') decoded.skipped++;
  }
  return decoded;
}

function decodeLine(line: string): UsageRecord | undefined {
  const json = line.slice(9);
  if (line[8] !== ' ' || line.slice(0, 8) !== checksum(json)) return undefined;
  try {
    return normalizeSpooledRecord(JSON.parse(json) as UsageRecord);
  } catch {
    return undefined;
  }
}

function checksum(json: string): string {
  return crc32(json).toString(16).padStart(8, '0');
}
