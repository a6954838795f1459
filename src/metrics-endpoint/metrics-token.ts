import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * METRICS_TOKEN, compared in constant time: both sides are hashed first, so timingSafeEqual gets
 * equal-length buffers and the time taken says nothing about the token's length or content.
 */
export class MetricsToken {
  private readonly digest: Buffer;

  constructor(token: string) {
    this.digest = sha256(token);
  }

  matches(candidate: string): boolean {
    return timingSafeEqual(sha256(candidate), this.digest);
  }
}
