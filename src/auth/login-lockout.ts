import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { FailureCounter } from '../common/failure-counter.js';
import { Tally } from '../common/tally.js';
import { RetryLaterException } from '../common/retry-later.exception.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';

/** How long an address that logged in to an account stays exempt from that account's lock. */
const TRUSTED_FOR_MS = 30 * 86_400_000;
const MAX_TRUSTED_PAIRS = 100_000;

/**
 * Per-account login throttling, beside the per-address limit: after AUTH_ACCOUNT_FAILURE_LIMIT
 * wrong passwords for one email (from any number of addresses) the account refuses logins for the
 * rest of an AUTH_ACCOUNT_LOCK_SECONDS window, so a botnet cannot guess one password. An attacker
 * could keep a victim locked out this way; addresses the account logged in from successfully in
 * the last 30 days stay exempt, so its owner's usual machines still get in (OWASP's "known
 * devices" rule, by address). State is per instance and in memory.
 */
@Injectable()
export class LoginLockout {
  private readonly failures: FailureCounter;
  private readonly trusted = new LRUCache<string, true>({ max: MAX_TRUSTED_PAIRS, ttl: TRUSTED_FOR_MS });
  private readonly pending = new Tally();

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.failures = new FailureCounter(config.accountLockout.failureLimit, config.accountLockout.lockSeconds * 1000);
  }

  /**
   * Runs one password check for the account: refused with 429 (Retry-After) while it is locked for
   * this address. Checks under way count as failures until they end, so a burst of parallel
   * guesses cannot pass the limit while bcrypt is still busy with the first ones.
   */
  async attempt(email: string, address: string, check: () => Promise<boolean>): Promise<boolean> {
    const exempt = this.trusted.has(pairKey(email, address));
    const retryAfter = exempt ? 0 : this.failures.retryAfterSeconds(email, Date.now(), this.pending.of(email));
    if (retryAfter > 0) {
      throw new RetryLaterException(HttpStatus.TOO_MANY_REQUESTS, `Too many failed logins for this account; try again in ${retryAfter} s`, retryAfter);
    }
    this.pending.increment(email);
    try {
      const matches = await check();
      if (matches) {
        this.failures.forget(email);
        this.trusted.set(pairKey(email, address), true);
      } else {
        this.failures.recordFailure(email);
      }
      return matches;
    } finally {
      this.pending.decrement(email);
    }
  }
}

const pairKey = (email: string, address: string) => `${email}\n${address}`;
