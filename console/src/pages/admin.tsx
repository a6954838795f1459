import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type Schemas, api, data } from '../api/client';
import { ConfirmButton } from '../components/confirm-button';
import { DataTable } from '../components/data-table';
import { ErrorMessage } from '../components/error-message';
import { Pager } from '../components/pager';
import { useLoaded } from '../components/use-loaded';
import { formatNumber, formatTime, isoDay } from '../format';

type Group = Schemas['UsageSummaryDto']['group_by'];
type User = Schemas['UserProfileDto'];
const GROUPS: Group[] = ['user', 'key', 'tool', 'table', 'day'];

/** The operator's view: everyone's usage, refusals since this instance started, accounts and their keys. */
export function AdminPage() {
  return (
    <>
      <h1>Operator view</h1>
      <UsageSummary />
      <Refusals />
      <Users />
    </>
  );
}

function UsageSummary() {
  const [group, setGroup] = useState<Group>('user');
  const [start, setStart] = useState(isoDay(29));
  const [end, setEnd] = useState(isoDay());
  const [asked, setAsked] = useState({ group, start, end });
  const summary = useLoaded(
    () => data(api.GET('/api/admin/usage/summary', { params: { query: { group_by: asked.group, start_date: asked.start, end_date: asked.end } } })),
    [asked],
  );
  const load = () => setAsked({ group, start, end });
  return (
    <section class="card" aria-labelledby="summary-title">
      <h2 id="summary-title">Usage across users</h2>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          load();
        }}
      >
        <div>
          <label for="summary-group">Group by</label>
          <select id="summary-group" value={group} onChange={(e) => setGroup(e.currentTarget.value as Group)}>
            {GROUPS.map((name) => (
              <option value={name} key={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="summary-start">From (UTC day)</label>
          <input id="summary-start" type="date" value={start} onInput={(e) => setStart(e.currentTarget.value)} />
        </div>
        <div>
          <label for="summary-end">To (UTC day)</label>
          <input id="summary-end" type="date" value={end} onInput={(e) => setEnd(e.currentTarget.value)} />
        </div>
        <button type="submit">Show</button>
      </form>
      <ErrorMessage error={summary.error} />
      {summary.value && (
        <SummaryTable summary={summary.value} />
      )}
    </section>
  );
}

function SummaryTable({ summary }: { summary: Schemas['UsageSummaryDto'] }) {
  return (
    <>
      {summary.truncated && <p class="muted">Only the 1,000 largest groups are shown.</p>}
      <DataTable
        columns={[{ label: summary.group_by }, ...['Calls', 'Records', 'Errors', 'p50 ms', 'p95 ms'].map((label) => ({ label, numeric: true }))]}
        footer={
          <tr>
            <th scope="row">All</th>
            <Figures figures={summary.totals} />
          </tr>
        }
      >
        {summary.rows.map((row) => (
          <tr key={row.key}>
            <td>{row.email ?? row.key}</td>
            <Figures figures={row} />
          </tr>
        ))}
      </DataTable>
    </>
  );
}

function Figures({ figures }: { figures: Schemas['UsageFiguresDto'] }) {
  return (
    <>
      <td class="number">{formatNumber(figures.calls)}</td>
      <td class="number">{formatNumber(figures.records)}</td>
      <td class="number">{formatNumber(figures.errors)}</td>
      <td class="number">{figures.p50_ms ?? '—'}</td>
      <td class="number">{figures.p95_ms ?? '—'}</td>
    </>
  );
}

/** Sums of a Prometheus counter's samples, by one of its labels ('' without labels). */
export function counterTotals(metrics: string, name: string, label?: string): Map<string, number> {
  const totals = new Map<string, number>();
  for (const line of metrics.split('\n')) {
    const match = new RegExp(`^${name}(\\{[^}]*\\})? ([0-9.e+]+)$`).exec(line);
    if (!match) continue;
    const labelValue = label ? (new RegExp(`${label}="([^"]*)"`).exec(match[1] ?? '')?.[1] ?? '') : '';
    totals.set(labelValue, (totals.get(labelValue) ?? 0) + Number(match[2]));
  }
  return totals;
}

function Refusals() {
  const [metrics, setMetrics] = useState<string | undefined>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    data(api.GET('/metrics', { parseAs: 'text' })).then((text) => setMetrics(String(text)), setError);
  }, []);
  const rate = metrics ? [...counterTotals(metrics, 'mcp_rate_limit_refusals_total').values()].reduce((a, b) => a + b, 0) : 0;
  const quotas = metrics ? counterTotals(metrics, 'mcp_quota_refusals_total', 'quota') : new Map<string, number>();
  const keys = metrics ? counterTotals(metrics, 'mcp_key_verifications_refused_total', 'reason') : new Map<string, number>();
  return (
    <section class="card" aria-labelledby="refusals-title">
      <h2 id="refusals-title">Refusals since this instance started</h2>
      <ErrorMessage error={error} />
      {metrics && (
        <ul class="plain">
          <li>
            Rate limit: <strong data-testid="rate-refusals">{formatNumber(rate)}</strong>
          </li>
          <li>
            Quotas: {quotas.size === 0 ? 'none' : [...quotas].map(([quota, count]) => `${quota} ${formatNumber(count)}`).join(', ')}
          </li>
          <li>
            Keys refused: {keys.size === 0 ? 'none' : [...keys].map(([reason, count]) => `${reason.replace('_', ' ')} ${formatNumber(count)}`).join(', ')}
          </li>
        </ul>
      )}
    </section>
  );
}

const USERS_PAGE_SIZE = 50;

function Users() {
  const [page, setPage] = useState(1);
  const [open, setOpen] = useState<string | undefined>();
  const [actionError, setActionError] = useState<unknown>();
  const users = useLoaded(() => data(api.GET('/api/admin/users', { params: { query: { page, page_size: USERS_PAGE_SIZE } } })), [page]);
  const setActive = (user: User, active: boolean) => {
    const path = active ? '/api/admin/users/{user_id}/enable' : '/api/admin/users/{user_id}/disable';
    setActionError(undefined);
    return data(api.POST(path, { params: { path: { user_id: user.id } } })).then(users.reload, setActionError);
  };
  const list = users.value;
  const pages = list ? Math.max(1, Math.ceil(list.total / USERS_PAGE_SIZE)) : 1;
  return (
    <section class="card" aria-labelledby="users-title">
      <h2 id="users-title">Accounts</h2>
      <ErrorMessage error={users.error ?? actionError} />
      {list && (
        <>
          <DataTable columns={[{ label: 'Email' }, { label: 'Status' }, { label: 'Created' }, { label: 'Actions', hidden: true }]}>
            {list.users.map((user) => (
              <Fragment key={user.id}>
                <tr>
                  <td>
                    {user.email}
                    {user.is_admin ? ' (admin)' : ''}
                  </td>
                  <td>{user.is_active ? 'active' : 'disabled'}</td>
                  <td>{formatTime(user.created_at)}</td>
                  <td class="actions">
                    <button type="button" class="secondary" aria-expanded={open === user.id} onClick={() => setOpen(open === user.id ? undefined : user.id)}>
                      Keys
                    </button>
                    {user.is_active ? (
                      <ConfirmButton label="Disable" question="Its logins and keys stop at once." confirmLabel={`Disable ${user.email}`} onConfirm={() => setActive(user, false)} />
                    ) : (
                      <button type="button" class="secondary" onClick={() => void setActive(user, true)}>
                        Enable
                      </button>
                    )}
                  </td>
                </tr>
                {open === user.id && (
                  <tr>
                    <td colSpan={4}>
                      <UserKeys userId={user.id} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </DataTable>
          <Pager label="Account pages" page={page} pages={pages} onPage={setPage}>
            {` (${formatNumber(list.total)} accounts)`}
          </Pager>
        </>
      )}
    </section>
  );
}

function UserKeys({ userId }: { userId: string }) {
  const [actionError, setActionError] = useState<unknown>();
  const keys = useLoaded(() => data(api.GET('/api/admin/users/{user_id}/keys', { params: { path: { user_id: userId } } })), [userId]);
  const revoke = (keyId: string) => data(api.POST('/api/admin/keys/{key_id}/revoke', { params: { path: { key_id: keyId } } })).then(keys.reload, setActionError);
  return (
    <>
      <ErrorMessage error={keys.error ?? actionError} />
      {keys.value?.keys.length === 0 && <p class="muted">No keys.</p>}
      <ul class="plain">
        {keys.value?.keys.map((key) => (
          <li key={key.id}>
            <code>{key.api_key_prefix}</code> {key.key_name} — {key.is_active ? (key.is_expired ? 'expired' : 'active') : 'revoked'}{' '}
            {key.is_active && <ConfirmButton label="Revoke" question="Calls with it stop at once." confirmLabel={`Revoke ${key.key_name}`} onConfirm={() => revoke(key.id)} />}
          </li>
        ))}
      </ul>
    </>
  );
}
