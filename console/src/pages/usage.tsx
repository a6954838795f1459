import { useEffect, useState } from 'preact/hooks';
import { type KeySummary, type Schemas, api, data } from '../api/client';
import { type Column, DataTable } from '../components/data-table';
import { ErrorMessage } from '../components/error-message';
import { Pager } from '../components/pager';
import { useLoaded } from '../components/use-loaded';
import { UsageChart } from '../components/usage-chart';
import { formatNumber, formatTime, isoDay } from '../format';

type Stats = Schemas['UsageStatsDto'];
type History = Schemas['UsageHistoryDto'];

interface Filters {
  apiKeyId: string;
  start: string;
  end: string;
}

const PAGE_SIZE = 20;
const HISTORY_COLUMNS: Column[] = [
  { label: 'Time (UTC)' },
  { label: 'Tool' },
  { label: 'Table' },
  { label: 'Records', numeric: true },
  { label: 'ms', numeric: true },
  { label: 'Key' },
  { label: 'Error' },
];

export function UsagePage() {
  const [keys, setKeys] = useState<KeySummary[]>([]);
  const [filters, setFilters] = useState<Filters>({ apiKeyId: '', start: isoDay(29), end: isoDay() });
  const [draft, setDraft] = useState<Filters>(filters);
  const stats = useLoaded(() => data(api.GET('/api/mcp-usage/stats', { params: { query: { start_date: filters.start, end_date: filters.end, api_key_id: filters.apiKeyId || undefined } } })), [filters]);

  useEffect(() => {
    data(api.GET('/api/mcp-keys/list')).then((list) => setKeys(list.keys), () => undefined);
  }, []);

  const keyName = (id: string) => keys.find((key) => key.id === id)?.key_name ?? id.slice(0, 8);
  return (
    <>
      <h1>Usage</h1>
      <form
        class="filters card"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters({ ...draft });
        }}
      >
        <div>
          <label for="usage-key">Key</label>
          <select id="usage-key" value={draft.apiKeyId} onChange={(e) => setDraft({ ...draft, apiKeyId: e.currentTarget.value })}>
            <option value="">All keys</option>
            {keys.map((key) => (
              <option value={key.id} key={key.id}>
                {key.key_name} ({key.api_key_prefix})
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="usage-start">From (UTC day)</label>
          <input id="usage-start" type="date" required value={draft.start} onInput={(e) => setDraft({ ...draft, start: e.currentTarget.value })} />
        </div>
        <div>
          <label for="usage-end">To (UTC day)</label>
          <input id="usage-end" type="date" required value={draft.end} onInput={(e) => setDraft({ ...draft, end: e.currentTarget.value })} />
        </div>
        <button type="submit">Show</button>
      </form>
      <ErrorMessage error={stats.error} />
      {stats.value && <StatsView stats={stats.value} />}
      {/* A new filter is a new table: its page starts at 1 with one request, not two. */}
      <HistoryTable key={JSON.stringify(filters)} filters={filters} keyName={keyName} />
    </>
  );
}

function StatsView({ stats }: { stats: Stats }) {
  const errorRate = stats.total_calls === 0 ? 0 : (stats.total_errors / stats.total_calls) * 100;
  return (
    <>
      <section class="cards" aria-label="Totals">
        <Figure label="Calls" value={formatNumber(stats.total_calls)} id="total-calls" />
        <Figure label="Records returned" value={formatNumber(stats.total_records)} id="total-records" />
        <Figure label="Errors" value={formatNumber(stats.total_errors)} id="total-errors" />
        <Figure label="Error rate" value={`${errorRate.toFixed(1)} %`} id="error-rate" />
      </section>
      <section class="card" aria-labelledby="chart-title">
        <h2 id="chart-title">Calls and records per day (UTC)</h2>
        <UsageChart daily={stats.daily_stats} startDate={stats.start_date} endDate={stats.end_date} />
      </section>
      <div class="two-columns">
        <TopTable title="Top tools" rows={stats.top_tools.map((tool) => ({ name: tool.tool_name, calls: tool.call_count, records: tool.total_records }))} />
        <TopTable title="Top tables" rows={stats.top_tables.map((table) => ({ name: table.table_name || '(none)', calls: table.call_count, records: table.total_records }))} />
      </div>
    </>
  );
}

function Figure({ label, value, id }: { label: string; value: string; id: string }) {
  return (
    <div class="figure">
      <span class="muted">{label}</span>
      <strong data-testid={id}>{value}</strong>
    </div>
  );
}

function TopTable({ title, rows }: { title: string; rows: { name: string; calls: number; records: number }[] }) {
  return (
    <section class="card">
      <h2>{title}</h2>
      {rows.length === 0 ? (
        <p class="muted">No calls in this range.</p>
      ) : (
        <DataTable columns={[{ label: 'Name' }, { label: 'Calls', numeric: true }, { label: 'Records', numeric: true }]}>
          {rows.map((row) => (
            <tr key={row.name}>
              <td>{row.name}</td>
              <td class="number">{formatNumber(row.calls)}</td>
              <td class="number">{formatNumber(row.records)}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </section>
  );
}

function HistoryTable({ filters, keyName }: { filters: Filters; keyName: (id: string) => string }) {
  const [view, setView] = useState({ page: 1, tool: '' });
  const { page, tool } = view;
  const loaded = useLoaded(() => {
    const query = { page, page_size: PAGE_SIZE, start_date: filters.start, end_date: filters.end, api_key_id: filters.apiKeyId || undefined, tool_name: tool || undefined };
    return data(api.GET('/api/mcp-usage/history', { params: { query } }));
  }, [page, tool]);
  const history: History | undefined = loaded.value;
  const setPage = (next: number) => setView({ page: next, tool });

  const pages = history ? Math.max(1, Math.ceil(history.total / PAGE_SIZE)) : 1;
  return (
    <section class="card" aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <label for="history-tool">Tool</label>
      <input id="history-tool" placeholder="any tool" value={tool} onChange={(e) => setView({ page: 1, tool: e.currentTarget.value.trim() })} />
      <ErrorMessage error={loaded.error} />
      {history && (
        <>
          <p class="muted" data-testid="history-total">
            {formatNumber(history.total)} calls
          </p>
          <DataTable columns={HISTORY_COLUMNS}>
            {history.records.map((record) => (
              <tr key={record.id} class={record.is_error ? 'failed' : undefined}>
                <td>{formatTime(record.created_at)}</td>
                <td>{record.tool_name}</td>
                <td>{record.table_name}</td>
                <td class="number">{formatNumber(record.record_count)}</td>
                <td class="number">{record.duration_ms}</td>
                <td>{keyName(record.api_key_id)}</td>
                <td>{record.error_message ?? ''}</td>
              </tr>
            ))}
          </DataTable>
          <Pager label="History pages" page={page} pages={pages} onPage={setPage} />
        </>
      )}
    </section>
  );
}
