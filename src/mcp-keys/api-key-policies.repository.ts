import { Injectable } from '@nestjs/common';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { unixSeconds } from '../clickhouse/datetime.js';
import { nextRowVersion } from '../clickhouse/row-version.js';
import { SchemaService } from '../clickhouse/schema/schema.service.js';
import { int, join, sql, str } from '../clickhouse/sql.js';
import { MCP_API_KEY_POLICIES_TABLE } from './api-key-policies.table.js';
import { type KeyPolicy, UNRESTRICTED_POLICY } from './key-policy.js';

/** The policy an administrator set on a key, and when (ms since the epoch; 0 when not known): owners may only tighten it. */
export interface Ceiling extends KeyPolicy {
  setAt: number;
}

/** A key's policy and the administrator's ceiling over it (null: none). */
export interface StoredPolicy {
  policy: KeyPolicy;
  ceiling: Ceiling | null;
}

interface PolicyRow {
  key_id: string;
  tools: string;
  tables: string;
  calls_per_minute: number | string | null;
  records_per_day: number | string | null;
  records_per_month: number | string | null;
  calls_per_day: number | string | null;
  ceiling: string;
}

const limitOrNull = (value: number | string | null | undefined) => (value === null || value === undefined ? null : Number(value));

/** A scope column: a JSON array of names; anything else (a hand-edited row) reads as no restriction named. */
function namesOf(text: unknown): string[] {
  try {
    const names: unknown = typeof text === 'string' ? JSON.parse(text) : text;
    return Array.isArray(names) ? names.filter((name): name is string => typeof name === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * The ceiling column: a policy's row as JSON with `set_at` (unix ms; missing in ceilings written
 * before it was kept); anything else (empty, hand-edited) is no ceiling.
 */
function ceilingOf(text: string): Ceiling | null {
  try {
    const row: unknown = JSON.parse(text);
    if (typeof row !== 'object' || row === null) return null;
    const setAt = (row as { set_at?: unknown }).set_at;
    return { ...toPolicy(row as PolicyRow), setAt: typeof setAt === 'number' && Number.isFinite(setAt) ? setAt : 0 };
  } catch {
    return null;
  }
}

const ceilingColumn = (ceiling: Ceiling | null) => (ceiling ? JSON.stringify({ ...policyRow(ceiling), set_at: ceiling.setAt }) : '');

const toPolicy = (row: PolicyRow): KeyPolicy => ({
  tools: namesOf(row.tools),
  tables: namesOf(row.tables),
  callsPerMinute: limitOrNull(row.calls_per_minute),
  recordsPerDay: limitOrNull(row.records_per_day),
  recordsPerMonth: limitOrNull(row.records_per_month),
  callsPerDay: limitOrNull(row.calls_per_day),
});

const policyRow = (policy: KeyPolicy) => ({
  tools: JSON.stringify(policy.tools),
  tables: JSON.stringify(policy.tables),
  calls_per_minute: policy.callsPerMinute,
  records_per_day: policy.recordsPerDay,
  records_per_month: policy.recordsPerMonth,
  calls_per_day: policy.callsPerDay,
});

/** `mcp_api_key_policies`: a key without a row has the unrestricted policy (the service defaults apply). */
@Injectable()
export class ApiKeyPoliciesRepository {
  constructor(
    private readonly clickhouse: ClickHouseService,
    schema: SchemaService,
  ) {
    schema.register(MCP_API_KEY_POLICIES_TABLE);
  }

  /** Keys whose policy changed in the last `seconds` (by the ClickHouse server's clock). */
  async changedWithin(seconds: number): Promise<string[]> {
    const rows = await this.clickhouse.query<{ key_id: string }>(sql`SELECT DISTINCT key_id FROM mcp_api_key_policies WHERE updated_at >= now() - ${int(seconds)}`);
    return rows.map((row) => row.key_id);
  }

  async find(keyId: string): Promise<KeyPolicy> {
    return (await this.findWithCeiling(keyId)).policy;
  }

  /** The policy with the administrator's ceiling, for a change. */
  async findWithCeiling(keyId: string): Promise<StoredPolicy> {
    return (await this.findForKeys([keyId])).get(keyId) ?? { policy: { ...UNRESTRICTED_POLICY }, ceiling: null };
  }

  /**
   * The policies of these keys that have one: primary-key reads, the newest `ver` of each (what
   * FINAL would keep). LIMIT BY rather than argMax: argMax skips NULLs, and NULL is a value here.
   */
  async findForKeys(keyIds: string[]): Promise<Map<string, StoredPolicy>> {
    if (keyIds.length === 0) return new Map();
    const rows = await this.clickhouse.query<PolicyRow>(sql`
      SELECT key_id, tools, tables, calls_per_minute, records_per_day, records_per_month, calls_per_day, ceiling
      FROM mcp_api_key_policies
      WHERE key_id IN (${join(keyIds.map(str), ', ')})
      ORDER BY key_id, ver DESC
      LIMIT 1 BY key_id`);
    return new Map(rows.map((row) => [row.key_id, { policy: toPolicy(row), ceiling: ceilingOf(row.ceiling) }]));
  }

  /**
   * The ceiling an administrator set last on any of this user's keys, revoked ones included, for
   * the keys the user creates next (else revoking a limited key and creating another would shed the
   * limit). By when the administrator set it, not when its key last changed: an owner's own change
   * carries the key's ceiling along and must not bring an older, looser one back. Ceilings of
   * before `set_at` was kept count from their key's last change.
   */
  async ceilingForNewKeysOf(userId: string): Promise<Ceiling | null> {
    const rows = await this.clickhouse.query<{ ceiling: string; updated_at: number }>(sql`
      SELECT ceiling, updated_at FROM (
        SELECT ceiling, toUnixTimestamp(updated_at) AS updated_at
        FROM mcp_api_key_policies
        WHERE user_id = ${str(userId)}
        ORDER BY key_id, ver DESC
        LIMIT 1 BY key_id)
      WHERE ceiling != ''`);
    let newest: Ceiling | null = null;
    for (const row of rows) {
      const ceiling = ceilingOf(row.ceiling);
      if (ceiling && !ceiling.setAt) ceiling.setAt = Number(row.updated_at) * 1000;
      if (ceiling && (!newest || ceiling.setAt > newest.setAt)) newest = ceiling;
    }
    return newest;
  }

  async save(keyId: string, userId: string, { policy, ceiling }: StoredPolicy, updatedBy: string, at: Date): Promise<void> {
    await this.clickhouse.insert(MCP_API_KEY_POLICIES_TABLE.name, [
      {
        key_id: keyId,
        user_id: userId,
        ...policyRow(policy),
        ceiling: ceilingColumn(ceiling),
        updated_by: updatedBy,
        updated_at: unixSeconds(at),
        ver: nextRowVersion(at.getTime()),
      },
    ]);
  }
}
