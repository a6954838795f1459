import type { QuotaName } from '../config/settings.js';

/**
 * What one API key may do. Scopes narrow the tools and tables it reaches (empty: all of them);
 * a null limit means the service's default from configuration (which may be "unlimited").
 */
export interface KeyPolicy {
  tools: string[];
  tables: string[];
  callsPerMinute: number | null;
  recordsPerDay: number | null;
  recordsPerMonth: number | null;
  callsPerDay: number | null;
}

export const UNRESTRICTED_POLICY: Readonly<KeyPolicy> = Object.freeze({
  tools: [],
  tables: [],
  callsPerMinute: null,
  recordsPerDay: null,
  recordsPerMonth: null,
  callsPerDay: null,
});

export const quotaOf = (policy: KeyPolicy, name: QuotaName): number | null =>
  ({ records_per_day: policy.recordsPerDay, records_per_month: policy.recordsPerMonth, calls_per_day: policy.callsPerDay })[name];

/** Why the policy does not let the key call this tool, naming the scope; undefined when it does. */
export function scopeRefusal(policy: KeyPolicy, tool: { name: string; table: string }): string | undefined {
  if (policy.tools.length > 0 && !policy.tools.includes(tool.name)) {
    return `${tool.name} is outside this API key's tool scope (${policy.tools.join(', ')})`;
  }
  return tableScopeRefusal(policy, tool.name, tool.table);
}

/** Why the policy does not let this tool read this table (its own, or one its arguments add); undefined when it does. */
export function tableScopeRefusal(policy: KeyPolicy, toolName: string, table: string): string | undefined {
  if (policy.tables.length === 0 || policy.tables.includes(table)) return undefined;
  return `${toolName} reads ${table}, which is outside this API key's table scope (${policy.tables.join(', ')})`;
}
