import type { QuotaName } from '../config/settings.js';
import type { PeriodKind } from './quota-periods.js';
import type { SubjectKind } from './usage-ledger.js';

/** The quotas metering enforces: those of keys and users, and a platform token's query pack (all its records, all time). */
export type MeteredQuota = QuotaName | 'pack_records';

/** One quota as a client sees it: in each result's _meta, and in the refusal once it is used up. */
export interface QuotaState {
  quota: MeteredQuota;
  /** Whose quota: this key's, or the user's total over all of their keys. */
  scope: SubjectKind;
  limit: number;
  used: number;
  remaining: number;
  period: PeriodKind;
  /** When the period ends and the quota starts again (ISO 8601, UTC); null for a pack, which never resets. */
  resets_at: string | null;
}

/** A call refused because a quota is used up: -32003 "Quota exhausted", as the original service answers. */
export class QuotaExhaustedError extends Error {
  constructor(readonly state: QuotaState) {
    super('Quota exhausted');
  }

  /** The JSON-RPC error's data: the original's {total, used} and this service's fuller account. */
  get data(): QuotaState & { total: number } {
    return { ...this.state, total: this.state.limit };
  }
}
