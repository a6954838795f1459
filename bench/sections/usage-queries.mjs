// Usage history and stats latency for one user among ~10 million generated usage rows.
import { queryRows, scalar, tableParts, waitForMerges } from '../lib/clickhouse.mjs';
import { table } from '../lib/markdown.mjs';
import { getJson } from '../../scripts/lib/rest-client.mjs';
import { formatInt, formatNumber, summarize, timeEach } from '../lib/stats.mjs';

const DAY_MS = 86_400_000;
const USERS = 1000;
/** Time slices generated one after another, so each insert block lands in one or two monthly partitions. */
const SLICES = 10;
const SPAN_DAYS = 365;
const TOOLS = [
  ['search_stocks', 'ods_stock_basic'],
  ['get_daily_bars', 'ods_daily'],
  ['get_latest_bars', 'ods_daily'],
  ['get_trade_calendar', 'trade_cal'],
  ['get_daily_basic', 'daily_basic'],
];
const WARMUP_REQUESTS = 3;
const DIAGNOSTIC_RUNS = 10;

const isoDay = (at) => at.toISOString().slice(0, 10);
const startOfUtcDay = (at) => new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);
const quoted = (uuid) => `'${uuid}'`; // user ids were checked to be UUIDs at registration
const arrayLiteral = (values) => `[${values.map((value) => `'${value}'`).join(',')}]`;

/**
 * INSERT ... SELECT of rows [offset, offset + count) of the data set, computed server-side.
 * Row n belongs to slice n / (rows / SLICES), then to one user, then walks forward in time, so
 * insert blocks arrive sorted by the table key and split into few parts. User 0 is the known user.
 */
function generationSql({ knownUserId, rows, offset, count, endSeconds }) {
  const perSlice = rows / SLICES;
  const perUserPerSlice = perSlice / USERS;
  const sliceSeconds = Math.floor((SPAN_DAYS * 86_400) / SLICES);
  const startSeconds = endSeconds - SLICES * sliceSeconds;
  return `INSERT INTO mcp_tool_usage_log
    (id, user_id, api_key_id, tool_name, table_name, arguments, record_count, duration_ms, is_error, error_message, created_at)
    SELECT
      UUIDNumToString(MD5(concat('bench-usage-', toString(number)))),
      if(user = 0, ${quoted(knownUserId)}, concat('bench-user-', toString(1000000 + user))),
      concat('bench-key-', toString(user)),
      arrayElement(${arrayLiteral(TOOLS.map(([tool]) => tool))}, number % ${TOOLS.length} + 1),
      arrayElement(${arrayLiteral(TOOLS.map(([, table]) => table))}, number % ${TOOLS.length} + 1),
      concat('{"ts_code":"', toString(600000 + number % 500), '.SH"}'),
      toUInt32(number % 200),
      toUInt32(1 + number % 50),
      toUInt8(number % 50 = 0),
      if(number % 50 = 0, 'the data store did not answer', ''),
      toDateTime(toUInt32(${startSeconds} + slice * ${sliceSeconds} + intDiv(step * ${sliceSeconds}, ${perUserPerSlice})))
    FROM (
      SELECT number, intDiv(number, ${perSlice}) AS slice, intDiv(number % ${perSlice}, ${perUserPerSlice}) AS user, number % ${perUserPerSlice} AS step
      FROM (SELECT number + ${offset} AS number FROM system.numbers LIMIT ${count})
    )`;
}

/** Fills the table with two concurrent inserts (one INSERT ... SELECT uses one core on 18.16). */
async function generateUsageRows(ctx, knownUserId) {
  const { rows } = ctx.options;
  if (rows % (SLICES * USERS) !== 0) throw new Error(`--rows must be a multiple of ${SLICES * USERS}`);
  const endSeconds = Math.floor(Date.now() / 1000);
  const halves = [0, rows / 2];
  const started = performance.now();
  await Promise.all(
    halves.map((offset) =>
      ctx.clickhouse.client.command({ query: generationSql({ knownUserId, rows, offset, count: rows / 2, endSeconds }) }),
    ),
  );
  return { seconds: (performance.now() - started) / 1000 };
}

/** The REST requests timed, each with what its answer must be (computed directly in ClickHouse). */
async function requestSpecs(client, userId, now) {
  const filterFrom = new Date(startOfUtcDay(now).getTime() - 89 * DAY_MS);
  const statsFrom = (days) => new Date(startOfUtcDay(now).getTime() - (days - 1) * DAY_MS);
  const countWhere = (condition) => scalar(client, `SELECT count() FROM mcp_tool_usage_log WHERE user_id = ${quoted(userId)} AND ${condition}`);
  const since = (at) => `created_at >= toDateTime(${Math.floor(at.getTime() / 1000)})`;
  const [all, filtered, last30, last365] = await Promise.all([
    countWhere('1'),
    countWhere(`tool_name = 'get_daily_bars' AND ${since(filterFrom)}`),
    countWhere(since(statsFrom(30))),
    countWhere(since(statsFrom(365))),
  ]);
  const historyCheck = (total, size) => (body) => body.total === total && body.records.length === Math.min(size, total);
  return [
    { label: 'GET /api/auth/me (REST floor: JWT + user lookup)', path: '/api/auth/me', check: (body) => body.id === userId },
    { label: 'history, page 1 of all', path: '/api/mcp-usage/history?page=1&page_size=20', check: historyCheck(all, 20), rows: all },
    {
      label: 'history, one tool, last 90 days, page 2',
      path: `/api/mcp-usage/history?page=2&page_size=20&tool_name=get_daily_bars&start_date=${isoDay(filterFrom)}&end_date=${isoDay(now)}`,
      check: (body) => body.total === filtered,
      rows: filtered,
    },
    { label: 'stats, days=30', path: '/api/mcp-usage/stats?days=30', check: (body) => body.total_calls === last30, rows: last30 },
    { label: 'stats, days=365', path: '/api/mcp-usage/stats?days=365', check: (body) => body.total_calls === last365, rows: last365 },
  ];
}

async function timeRequest(ctx, jwt, spec) {
  const body = await getJson(ctx.gateway.restUrl, spec.path, jwt);
  if (!spec.check(body)) throw new Error(`${spec.label}: unexpected answer ${JSON.stringify(body).slice(0, 300)}`);
  for (let i = 0; i < WARMUP_REQUESTS; i++) await getJson(ctx.gateway.restUrl, spec.path, jwt);
  return summarize(await timeEach(ctx.options.queryRequests, () => getJson(ctx.gateway.restUrl, spec.path, jwt)));
}

/** The repository's queries run directly (deduplicating by id), next to the FINAL form they replaced. */
function diagnosticQueries(userId, now) {
  const user = `user_id = ${quoted(userId)}`;
  const since30 = `created_at >= toDateTime(${Math.floor((startOfUtcDay(now).getTime() - 29 * DAY_MS) / 1000)})`;
  const columns = 'id, user_id, api_key_id, tool_name, table_name, arguments, record_count, duration_ms, is_error, error_message, created_at';
  return [
    {
      // 18.16 parses no OFFSET after LIMIT BY, hence the `LIMIT offset, count` form.
      label: 'history page (ORDER BY created_at DESC, id DESC LIMIT 20)',
      final: `SELECT ${columns} FROM mcp_tool_usage_log FINAL WHERE ${user} ORDER BY created_at DESC, id DESC LIMIT 20 OFFSET 0`,
      deduplicated: `SELECT ${columns} FROM mcp_tool_usage_log WHERE ${user} ORDER BY created_at DESC, id DESC LIMIT 1 BY id LIMIT 0, 20`,
    },
    {
      label: 'history total (count)',
      final: `SELECT count() FROM mcp_tool_usage_log FINAL WHERE ${user}`,
      deduplicated: `SELECT uniqExact(id) FROM mcp_tool_usage_log WHERE ${user}`,
    },
    {
      label: 'stats daily, 30 days',
      final: `SELECT toString(toDate(created_at)) AS date, count(), sum(record_count) FROM mcp_tool_usage_log FINAL WHERE ${user} AND ${since30} GROUP BY date ORDER BY date`,
      deduplicated: `SELECT toString(toDate(at)) AS date, count(), sum(records) FROM (
        SELECT any(created_at) AS at, any(record_count) AS records FROM mcp_tool_usage_log WHERE ${user} AND ${since30} GROUP BY id
      ) GROUP BY date ORDER BY date`,
    },
  ];
}

async function timeQuery(client, query) {
  await queryRows(client, query);
  return summarize(await timeEach(DIAGNOSTIC_RUNS, () => queryRows(client, query)));
}

export async function measureUsageQueries(ctx) {
  const { client } = ctx.clickhouse;
  const user = ctx.users.history;
  const generated = await generateUsageRows(ctx, user.id);
  await waitForMerges(client, 120_000);
  const storage = await tableParts(client, 'mcp_tool_usage_log');
  const now = new Date();
  const requests = [];
  for (const spec of await requestSpecs(client, user.id, now)) requests.push({ ...spec, latency: await timeRequest(ctx, user.jwt, spec) });
  const diagnostics = [];
  for (const query of diagnosticQueries(user.id, now)) {
    diagnostics.push({ label: query.label, final: await timeQuery(client, query.final), deduplicated: await timeQuery(client, query.deduplicated) });
  }
  return { generated, storage, requests, diagnostics, userRows: ctx.options.rows / USERS };
}

export function renderUsageQueries(data, ctx) {
  const { generated, storage } = data;
  return [
    `${formatInt(storage.rows)} rows in \`mcp_tool_usage_log\`: ${formatInt(ctx.options.rows)} generated server-side in ${formatNumber(generated.seconds)} s ` +
      `(${formatInt(USERS)} users × ${formatInt(data.userRows)} calls over ${SPAN_DAYS} days, ${TOOLS.length} tools) plus the throughput runs' own. ` +
      `${storage.parts} active parts in ${storage.partitions} monthly partitions when timed ` +
      '(merges settled). Timed through the REST API with the user\'s JWT, one request at a time, ' +
      `${WARMUP_REQUESTS} warm-up requests then ${ctx.options.queryRequests} timed; every answer is checked against a direct count.`,
    table(
      ['request (one user)', 'rows matched', 'p50 ms', 'p99 ms', 'mean ms'],
      data.requests.map((r) => [r.label, r.rows === undefined ? '' : formatInt(r.rows), formatNumber(r.latency.p50), formatNumber(r.latency.p99), formatNumber(r.latency.mean)]),
    ),
    'Where the time goes: the same queries sent straight to ClickHouse (no HTTP, no Nest), deduplicating by `id` as the repository does, next to the FINAL form it replaced (same answers, since a duplicate row is a retried insert of the same id). p50 of ' +
      `${DIAGNOSTIC_RUNS} runs:`,
    table(
      ['query', 'FINAL (replaced) ms', 'dedup by id (used) ms'],
      data.diagnostics.map((d) => [d.label, formatNumber(d.final.p50), formatNumber(d.deduplicated.p50)]),
    ),
  ].join('\n\n');
}

export const usageQueries = {
  title: (ctx) => `Usage history and stats for one user among ${formatInt(ctx.options.rows)} rows`,
  measure: measureUsageQueries,
  render: renderUsageQueries,
};
