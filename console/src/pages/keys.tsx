import { useEffect, useState } from 'preact/hooks';
import { type KeySummary, type Schemas, api, data } from '../api/client';
import { ClientConfigs } from '../components/client-configs';
import { ConfirmButton } from '../components/confirm-button';
import { CopyButton } from '../components/copy-button';
import { DataTable } from '../components/data-table';
import { ErrorMessage } from '../components/error-message';
import { useSubmit } from '../components/use-submit';
import { formatTime } from '../format';

type CreatedKey = Schemas['CreateKeyResponseDto'];

export function KeysPage() {
  const [keys, setKeys] = useState<KeySummary[] | undefined>();
  const [created, setCreated] = useState<CreatedKey | undefined>();
  const [mcpUrl, setMcpUrl] = useState('');
  const [error, setError] = useState<unknown>();

  const reload = () => data(api.GET('/api/mcp-keys/list')).then((list) => setKeys(list.keys), setError);
  useEffect(() => {
    void reload();
    data(api.GET('/api/mcp-connection')).then((info) => setMcpUrl(info.mcp_url), setError);
  }, []);

  return (
    <>
      <h1>MCP API keys</h1>
      <ErrorMessage error={error} />
      {created && <NewKey created={created} mcpUrl={mcpUrl} onDone={() => setCreated(undefined)} />}
      <CreateKeyForm
        onCreated={(key) => {
          setCreated(key);
          void reload();
        }}
      />
      <h2>Your keys</h2>
      {keys === undefined ? <p>Loading…</p> : <KeyTable keys={keys} onRevoked={() => void reload()} />}
      {mcpUrl && (
        <p class="muted">
          MCP endpoint: <code>{mcpUrl}</code>. Clients that support it can also sign in without a key (OAuth); each sign-in is listed here as “OAuth: client name”.
        </p>
      )}
    </>
  );
}

/** The new key, shown this once, with configurations to paste. */
function NewKey({ created, mcpUrl, onDone }: { created: CreatedKey; mcpUrl: string; onDone: () => void }) {
  return (
    <section class="card highlight" aria-labelledby="new-key-title">
      <h2 id="new-key-title">Copy your new key now</h2>
      <p>It is shown only this once. Anyone with it can call the tools as you.</p>
      <div class="secret">
        <code data-testid="new-key">{created.api_key}</code>
        <CopyButton text={created.api_key} label="Copy key" />
      </div>
      {mcpUrl && <ClientConfigs mcpUrl={mcpUrl} apiKey={created.api_key} />}
      <button type="button" onClick={onDone}>
        I saved it
      </button>
    </section>
  );
}

const LIMITS = [
  ['calls_per_minute', 'Calls per minute'],
  ['records_per_day', 'Records per day'],
  ['records_per_month', 'Records per month'],
  ['calls_per_day', 'Calls per day'],
] as const;

type Limit = (typeof LIMITS)[number][0];

function CreateKeyForm({ onCreated }: { onCreated: (key: CreatedKey) => void }) {
  const [name, setName] = useState('');
  const [expiresDays, setExpiresDays] = useState('90');
  const [tools, setTools] = useState('');
  const [limits, setLimits] = useState<Partial<Record<Limit, string>>>({});
  const { busy, error, onSubmit } = useSubmit(async () => {
    const policy: Schemas['KeyPolicyDto'] = {};
    const toolNames = tools.split(',').map((tool) => tool.trim()).filter(Boolean);
    if (toolNames.length > 0) policy.tools = toolNames;
    for (const [field] of LIMITS) if (limits[field]) policy[field] = Number(limits[field]);
    const key = await data(api.POST('/api/mcp-keys/create', { body: { key_name: name || 'default', expires_days: expiresDays ? Number(expiresDays) : null, policy } }));
    setName('');
    setTools('');
    setLimits({});
    onCreated(key);
  });

  return (
    <form class="card" onSubmit={onSubmit} aria-labelledby="create-title">
      <h2 id="create-title">Create a key</h2>
      <ErrorMessage error={error} />
      <div class="grid">
        <div>
          <label for="key-name">Name</label>
          <input id="key-name" maxLength={100} placeholder="my-cursor-key" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <div>
          <label for="key-expiry">Expires</label>
          <select id="key-expiry" value={expiresDays} onChange={(e) => setExpiresDays(e.currentTarget.value)}>
            <option value="30">in 30 days</option>
            <option value="90">in 90 days</option>
            <option value="365">in a year</option>
            <option value="">never</option>
          </select>
        </div>
        <div>
          <label for="key-tools">Only these tools (comma-separated; empty: all)</label>
          <input id="key-tools" placeholder="get_daily_bars, search_stocks" value={tools} onInput={(e) => setTools(e.currentTarget.value)} />
        </div>
        {LIMITS.map(([field, label]) => (
          <div key={field}>
            <label for={`key-${field}`}>{label} (empty: default)</label>
            <input id={`key-${field}`} type="number" min={1} inputMode="numeric" value={limits[field] ?? ''} onInput={(e) => setLimits({ ...limits, [field]: e.currentTarget.value })} />
          </div>
        ))}
      </div>
      <button type="submit" disabled={busy}>
        Create key
      </button>
    </form>
  );
}

function statusOf(key: KeySummary): 'active' | 'expired' | 'revoked' {
  if (!key.is_active) return 'revoked';
  return key.is_expired ? 'expired' : 'active';
}

function policySummary(policy: KeySummary['policy']): string {
  const parts = [policy.tools.length ? `tools: ${policy.tools.join(', ')}` : 'all tools'];
  if (policy.tables.length) parts.push(`tables: ${policy.tables.join(', ')}`);
  for (const [field, label] of LIMITS) if (policy[field] !== null) parts.push(`${label.toLowerCase()}: ${policy[field]}`);
  return parts.join('; ');
}

function KeyTable({ keys, onRevoked }: { keys: KeySummary[]; onRevoked: () => void }) {
  if (keys.length === 0) return <p>No keys yet: create one above.</p>;
  const columns = ['Name', 'Key', 'Status', 'Created', 'Expires', 'Last used', 'Scopes and limits'].map((label) => ({ label }));
  return (
    <DataTable columns={[...columns, { label: 'Actions', hidden: true }]}>
      {keys.map((key) => (
        <KeyRow key={key.id} apiKey={key} onRevoked={onRevoked} />
      ))}
    </DataTable>
  );
}

function KeyRow({ apiKey, onRevoked }: { apiKey: KeySummary; onRevoked: () => void }) {
  const [error, setError] = useState<unknown>();
  const status = statusOf(apiKey);
  const revoke = () => data(api.POST('/api/mcp-keys/revoke', { body: { key_id: apiKey.id } })).then(onRevoked, setError);
  return (
    <tr data-key-id={apiKey.id}>
      <td>{apiKey.key_name}</td>
      <td>
        <code>{apiKey.api_key_prefix}</code>
      </td>
      <td>
        <span class={`status ${status}`}>{status}</span>
      </td>
      <td>{formatTime(apiKey.created_at)}</td>
      <td>{apiKey.expires_at ? formatTime(apiKey.expires_at) : 'never'}</td>
      <td>{apiKey.last_used_at ? formatTime(apiKey.last_used_at) : '—'}</td>
      <td>{policySummary(apiKey.policy)}</td>
      <td>
        <ErrorMessage error={error} />
        {status !== 'revoked' && <ConfirmButton label="Revoke" question="Clients using it stop at once." confirmLabel={`Revoke ${apiKey.key_name}`} onConfirm={revoke} />}
      </td>
    </tr>
  );
}
