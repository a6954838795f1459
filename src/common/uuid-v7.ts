import { randomFillSync } from 'node:crypto';

const MAX_COUNTER = 0xfff;
const state = { ms: -1, counter: 0 };
/**
 * Random bytes drawn in blocks: an id needs 8, and one system call per id (every tool call records
 * one) cost more than the rest of making it.
 */
const RANDOM_BLOCK = 4096;
const random = { bytes: Buffer.alloc(RANDOM_BLOCK), used: RANDOM_BLOCK };

function randomInto(target: Buffer, offset: number, length: number): void {
  if (random.used + length > RANDOM_BLOCK) {
    randomFillSync(random.bytes);
    random.used = 0;
  }
  random.bytes.copy(target, offset, random.used, random.used + length);
  random.used += length;
}

/**
 * An RFC 9562 UUIDv7: a millisecond timestamp first, then a 12-bit counter that orders the ids one
 * process makes within a millisecond, then random bits. Compared as strings, ids sort by creation,
 * so a table sorted by (created_at, id) keeps events of one second in the order they happened.
 * A clock that steps back does not reorder: the last timestamp is reused and the counter advances.
 */
export function uuidV7(now = Date.now()): string {
  if (now > state.ms) {
    state.ms = now;
    state.counter = 0;
  } else if (++state.counter > MAX_COUNTER) {
    state.ms += 1;
    state.counter = 0;
  }
  const bytes = Buffer.allocUnsafe(16);
  randomInto(bytes, 8, 8);
  bytes.writeUIntBE(state.ms, 0, 6);
  bytes[6] = 0x70 | (state.counter >> 8);
  bytes[7] = state.counter & 0xff;
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The creation time a UUIDv7 carries. */
export function uuidV7Time(id: string): Date {
  return new Date(parseInt(id.replace(/-/g, '').slice(0, 12), 16));
}
