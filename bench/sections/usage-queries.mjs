// Usage history and stats latency for a typical user and for one with millions of calls, among
// ~10 million generated usage rows.
import { queryRows, scalar, tableParts, waitForMerges } from '../lib/clickhouse.mjs';
import { table } from '../lib/markdown.mjs';
import { getJson, registerAndLogin } from '../../scripts/lib/rest-client.mjs';
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
/** Calls of the heavy user, part of --rows. */
const HEAVY_ROWS = 3_000_000;
/** The deepest history page USAGE_HISTORY_MAX_OFFSET (10,000) allows at page_size 20. */
const DEEPEST_PAGE = 500;
export const TARGET_HEAVY_MS = 300;

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
    (id, user_id, api_key_id, tool_name, service_prefix, table_name, arguments, record_count, duration_ms, is_error, error_message, created_at)
    SELECT
      UUIDNumToString(MD5(concat('bench-usage-', toString(number)))),
      if(user = 0, ${quoted(knownUserId)}, concat('bench-user-', toString(1000000 + user))),
      concat('bench-key-', toString(user)),
      arrayElement(${arrayLiteral(TOOLS.map(([tool]) => tool))}, number % ${TOOLS.length} + 1),
      'tushare_daily',
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

/** The heavy user's calls, evenly over the year up to now, inserted in time order. */
function heavyUserSql({ heavyUserId, endSeconds }) {
  const spanSeconds = SPAN_DAYS * 86_400;
  return `INSERT INTO mcp_tool_usage_log
    (id, user_id, api_key_id, tool_name, service_prefix, table_name, arguments, record_count, duration_ms, is_error, error_message, created_at)
    SELECT
      UUIDNumToString(MD5(concat('bench-heavy-', toString(number)))), ${quoted(heavyUserId)}, 'bench-heavy-key',
      arrayElement(${arrayLiteral(TOOLS.map(([tool]) => tool))}, number % ${TOOLS.length} + 1), 'tushare_daily',
      arrayElement(${arrayLiteral(TOOLS.map(([, table]) => table))}, number % ${TOOLS.length} + 1),
      '{"ts_code":"600519.SH"}', toUInt32(number % 200), toUInt32(1 + number % 50), toUInt8(number % 50 = 0), '',
      toDateTime(toUInt32(${endSeconds - spanSeconds} + intDiv(number * ${spanSeconds}, ${HEAVY_ROWS})))
    FROM system.numbers LIMIT ${HEAVY_ROWS}`;
}

/**
 * The crowd (1000 users, the typical one among them) from two concurrent inserts (one INSERT ...
 * SELECT uses one core on 18.16), then the heavy user: --rows in all.
 */
async function generateUsageRows(ctx, knownUserId, heavyUserId) {
  const crowd = ctx.options.rows - HEAVY_ROWS;
  if (crowd <= 0 || crowd % (SLICES * USERS * 2) !== 0) throw new Error(`--rows minus ${HEAVY_ROWS} must be a positive multiple of ${SLICES * USERS * 2}`);
  const endSeconds = Math.floor(Date.now() / 1000);
  const started = performance.now();
  await Promise.all(
    [0, crowd / 2].map((offset) => ctx.clickhouse.client.command({ query: generationSql({ knownUserId, rows: crowd, offset, count: crowd / 2, endSeconds }) })),
  );
  await ctx.clickhouse.client.command({ query: heavyUserSql({ heavyUserId, endSeconds }) });
  return { seconds: (performance.now() - started) / 1000, crowdRowsPerUser: crowd / USERS };
}

/** The REST requests timed for one user, each with what its answer must be (computed directly in ClickHouse). */
async function requestSpecs(client, userId, now, who) {
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
  const label = (text) => `${who}: ${text}`;
  return [
    { who, label: label('history, page 1 of all'), path: '/api/mcp-usage/history?page=1&page_size=20', check: historyCheck(all, 20), rows: all },
    {
      who,
      label: label(`history, page ${DEEPEST_PAGE} of all (the deepest allowed)`),
      path: `/api/mcp-usage/history?page=${DEEPEST_PAGE}&page_size=20`,
      check: (body) => body.total === all && body.records.length === Math.max(0, Math.min(20, all - (DEEPEST_PAGE - 1) * 20)),
      rows: all,
    },
    {
      who,
      label: label('history, one tool, last 90 days, page 2'),
      path: `/api/mcp-usage/history?page=2&page_size=20&tool_name=get_daily_bars&start_date=${isoDay(filterFrom)}&end_date=${isoDay(now)}`,
      check: (body) => body.total === filtered,
      rows: filtered,
    },
    { who, label: label('stats, days=30'), path: '/api/mcp-usage/stats?days=30', check: (body) => body.total_calls === last30, rows: last30 },
    { who, label: label('stats, days=365'), path: '/api/mcp-usage/stats?days=365', check: (body) => body.total_calls === last365, rows: last365 },
  ];
}

async function timeRequest(ctx, jwt, spec) {
  const body = await getJson(ctx.gateway.restUrl, spec.path, jwt);
  if (!spec.check(body)) throw new Error(`${spec.label}: unexpected answer ${JSON.stringify(body).slice(0, 300)}`);
  for (let i = 0; i < WARMUP_REQUESTS; i++) await getJson(ctx.gateway.restUrl, spec.path, jwt);
  return summarize(await timeEach(ctx.options.queryRequests, () => getJson(ctx.gateway.restUrl, spec.path, jwt)));
}

/** The repository's reads for the heavy user's deepest page, sent straight to ClickHouse. */
function diagnosticQueries(userId, now) {
  const user = `user_id = ${quoted(userId)}`;
  const since365 = `created_at >= toDateTime(${Math.floor((startOfUtcDay(now).getTime() - 364 * DAY_MS) / 1000)})`;
  const columns = 'id, user_id, api_key_id, tool_name, service_prefix, table_name, arguments, record_count, duration_ms, is_error, error_message, created_at';
  return [
    { label: 'calls per hour (the total, and where a page lies)', query: `SELECT toUnixTimestamp(toStartOfHour(created_at)) AS hour, count() FROM mcp_tool_usage_log WHERE ${user} GROUP BY hour ORDER BY hour DESC` },
    {
      label: 'a page read from the hours that hold it',
      query: `SELECT ${columns} FROM mcp_tool_usage_log WHERE ${user} AND created_at >= toDateTime(${Math.floor(now.getTime() / 1000) - 7200}) ORDER BY created_at DESC, id DESC LIMIT 0, 20`,
    },
    {
      label: `the same page read the naive way (OFFSET ${(DEEPEST_PAGE - 1) * 20} over all the user's rows)`,
      query: `SELECT ${columns} FROM mcp_tool_usage_log WHERE ${user} ORDER BY created_at DESC, id DESC LIMIT ${(DEEPEST_PAGE - 1) * 20}, 20`,
    },
    { label: 'stats per UTC day, 365 days', query: `SELECT toString(toDate(created_at, 'UTC')) AS date, count(), sum(record_count) FROM mcp_tool_usage_log WHERE ${user} AND ${since365} GROUP BY date ORDER BY date` },
    { label: 'top tools, 365 days', query: `SELECT tool_name, table_name, count(), sum(record_count) FROM mcp_tool_usage_log WHERE ${user} AND ${since365} GROUP BY tool_name, table_name ORDER BY count() DESC LIMIT 10` },
  ];
}

async function timeQuery(client, query) {
  await queryRows(client, query);
  return summarize(await timeEach(DIAGNOSTIC_RUNS, () => queryRows(client, query)));
}

export async function measureUsageQueries(ctx) {
  const { client } = ctx.clickhouse;
  const typical = ctx.users.history;
  const heavy = await registerAndLogin(ctx.gateway.restUrl, `bench-heavy-${ctx.clickhouse.database}@example.com`);
  const generated = await generateUsageRows(ctx, typical.id, heavy.id);
  await waitForMerges(client, 180_000);
  const storage = await tableParts(client, 'mcp_tool_usage_log');
  const now = new Date();
  const requests = [];
  const floor = { label: 'GET /api/auth/me (REST floor: JWT + user lookup)', path: '/api/auth/me', check: (body) => body.id === typical.id };
  requests.push({ ...floor, latency: await timeRequest(ctx, typical.jwt, floor) });
  for (const [user, who] of [[typical, 'typical user'], [heavy, 'heavy user']]) {
    for (const spec of await requestSpecs(client, user.id, now, who)) requests.push({ ...spec, latency: await timeRequest(ctx, user.jwt, spec) });
  }
  const diagnostics = [];
  for (const query of diagnosticQueries(heavy.id, now)) diagnostics.push({ label: query.label, latency: await timeQuery(client, query.query) });
  return { generated, storage, requests, diagnostics };
}

export function renderUsageQueries(data, ctx) {
  const { generated, storage } = data;
  return [
    `${formatInt(storage.rows)} rows in \`mcp_tool_usage_log\`: ${formatInt(ctx.options.rows)} generated server-side in ${formatNumber(generated.seconds)} s ` +
      `(${formatInt(USERS)} users × ${formatInt(generated.crowdRowsPerUser)} calls over ${SPAN_DAYS} days, among them the typical user, and one heavy user with ` +
      `${formatInt(HEAVY_ROWS)} calls; ${TOOLS.length} tools) plus the throughput runs' own. ` +
      `${storage.parts} active parts in ${storage.partitions} monthly partitions when timed ` +
      '(merges settled). Timed through the REST API with the user\'s JWT, one request at a time, ' +
      `${WARMUP_REQUESTS} warm-up requests then ${ctx.options.queryRequests} timed; every answer is checked against a direct count.`,
    `Target: every heavy-user history page and stats?days=365 within ${TARGET_HEAVY_MS} ms p50.`,
    table(
      ['request', 'rows matched', 'p50 ms', 'p99 ms', 'mean ms'],
      data.requests.map((r) => [r.label, r.rows === undefined ? '' : formatInt(r.rows), formatNumber(r.latency.p50), formatNumber(r.latency.p99), formatNumber(r.latency.mean)]),
    ),
    `Where the heavy user's time goes: the repository's queries sent straight to ClickHouse (no HTTP, no Nest), next to the naive deep page they avoid. p50 of ${DIAGNOSTIC_RUNS} runs:`,
    table(['query', 'p50 ms', 'p99 ms'], data.diagnostics.map((d) => [d.label, formatNumber(d.latency.p50), formatNumber(d.latency.p99)])),
  ].join('\n\n');
}

export const usageQueries = {
  title: (ctx) => `Usage history and stats among ${formatInt(ctx.options.rows)} rows`,
  measure: measureUsageQueries,
  render: renderUsageQueries,
};
