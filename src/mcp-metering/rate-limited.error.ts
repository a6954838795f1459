/** A call over its key's calls per minute, refused before it runs. */
export class RateLimitedError extends Error {
  constructor(
    readonly retryAfterSeconds: number,
    readonly callsPerMinute: number,
  ) {
    super(`Rate limit of this API key (${callsPerMinute} calls per minute) exceeded; retry in ${retryAfterSeconds} s`);
    this.name = 'RateLimitedError';
  }

  /** The JSON-RPC error's data. */
  get data(): { calls_per_minute: number; retry_after_seconds: number } {
    return { calls_per_minute: this.callsPerMinute, retry_after_seconds: this.retryAfterSeconds };
  }
}
