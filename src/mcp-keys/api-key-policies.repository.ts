import { Injectable } from '@nestjs/common';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { unixSeconds } from '../clickhouse/datetime.js';
import { nextRowVersion } from '../clickhouse/row-version.js';
import { SchemaService } from '../clickhouse/schema/schema.service.js';
import { join, sql, str } from '../clickhouse/sql.js';
import { MCP_API_KEY_POLICIES_TABLE } from './api-key-policies.table.js';
import { type KeyPolicy, UNRESTRICTED_POLICY } from './key-policy.js';

interface PolicyRow {
  key_id: string;
  tools: string;
  tables: string;
  calls_per_minute: number | string | null;
  records_per_day: number | string | null;
  records_per_month: number | string | null;
  calls_per_day: number | string | null;
}

const limitOrNull = (value: number | string | null) => (value === null ? null : Number(value));

/** A scope column: a JSON array of names; anything else (a hand-edited row) reads as no restriction named. */
function namesOf(text: string): string[] {
  try {
    const names: unknown = JSON.parse(text);
    return Array.isArray(names) ? names.filter((name): name is string => typeof name === 'string') : [];
  } catch {
    return [];
  }
}

const toPolicy = (row: PolicyRow): KeyPolicy => ({
  tools: namesOf(row.tools),
  tables: namesOf(row.tables),
  callsPerMinute: limitOrNull(row.calls_per_minute),
  recordsPerDay: limitOrNull(row.records_per_day),
  recordsPerMonth: limitOrNull(row.records_per_month),
  callsPerDay: limitOrNull(row.calls_per_day),
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

  async find(keyId: string): Promise<KeyPolicy> {
    return (await this.findForKeys([keyId])).get(keyId) ?? { ...UNRESTRICTED_POLICY };
  }

  /**
   * The policies of these keys that have one: primary-key reads, the newest `ver` of each (what
   * FINAL would keep). LIMIT BY rather than argMax: argMax skips NULLs, and NULL is a value here.
   */
  async findForKeys(keyIds: string[]): Promise<Map<string, KeyPolicy>> {
    if (keyIds.length === 0) return new Map();
    const rows = await this.clickhouse.query<PolicyRow>(sql`
      SELECT key_id, tools, tables, calls_per_minute, records_per_day, records_per_month, calls_per_day
      FROM mcp_api_key_policies
      WHERE key_id IN (${join(keyIds.map(str), ', ')})
      ORDER BY key_id, ver DESC
      LIMIT 1 BY key_id`);
    return new Map(rows.map((row) => [row.key_id, toPolicy(row)]));
  }

  async save(keyId: string, userId: string, policy: KeyPolicy, updatedBy: string, at: Date): Promise<void> {
    await this.clickhouse.insert(MCP_API_KEY_POLICIES_TABLE.name, [
      {
        key_id: keyId,
        user_id: userId,
        tools: JSON.stringify(policy.tools),
        tables: JSON.stringify(policy.tables),
        calls_per_minute: policy.callsPerMinute,
        records_per_day: policy.recordsPerDay,
        records_per_month: policy.recordsPerMonth,
        calls_per_day: policy.callsPerDay,
        updated_by: updatedBy,
        updated_at: unixSeconds(at),
        ver: nextRowVersion(at.getTime()),
      },
    ]);
  }
}
