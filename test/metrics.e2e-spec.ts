import { randomBytes } from 'node:crypto';
import parsePrometheusTextFormat, { type PrometheusMetricFamily } from 'parse-prometheus-text-format';
import { pollUntil } from '../scripts/lib/poll.mjs';
import { grantAdmin } from './support/admin-cli.js';
import { createApiKey, rawRpc } from './support/mcp.js';
import { type LoggedInUser, type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';
import { waitForCount } from './support/usage-log.js';

const METRICS_TOKEN = randomBytes(24).toString('hex');
const ADMIN_EMAIL = 'metrics-admin@example.com';
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const toolCall = (id: number, name: string, args: Record<string, unknown>) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
const strangerKey = () => `sk-${randomBytes(32).toString('hex')}`;

interface Scrape {
  text: string;
  families: PrometheusMetricFamily[];
}

const missing = (name: string, labels: Record<string, string>) => new Error(`no series ${name}${JSON.stringify(labels)} in the scrape`);

/**
 * parse-prometheus-text-format folds a histogram with labels into one map of buckets, losing its
 * labels, counts and sums, so a histogram's count is read from its `_count` line instead.
 */
function histogramCount(text: string, name: string, labels: Record<string, string>): number {
  const prefix = `${name}_count{${Object.entries(labels).map(([label, value]) => `${label}="${value}"`).join(',')}} `;
  const line = text.split('\n').find((candidate) => candidate.startsWith(prefix));
  if (line === undefined) throw missing(name, labels);
  return Number(line.slice(prefix.length));
}

/** The value of the one series of `name` with exactly these labels (a histogram's: its count); absent is a failure. */
function valueOf(taken: Scrape, name: string, labels: Record<string, string> = {}): number {
  const family = taken.families.find((candidate) => candidate.name === name);
  if (family?.type === 'HISTOGRAM') return histogramCount(taken.text, name, labels);
  const sample = family?.metrics.find((candidate) => JSON.stringify(candidate.labels ?? {}) === JSON.stringify(labels));
  if (!sample) throw missing(name, labels);
  return Number(sample.value);
}

/** GET /metrics as a Prometheus server with METRICS_TOKEN scrapes it. */
async function scrape(app: TestApp): Promise<Scrape> {
  const { text } = await app.rest.get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(200);
  return { text, families: parsePrometheusTextFormat(text) };
}

/** How much each series moved between two scrapes. */
const delta = (before: Scrape, after: Scrape) => (name: string, labels: Record<string, string> = {}) => valueOf(after, name, labels) - valueOf(before, name, labels);

describe('Prometheus metrics (e2e)', () => {
  let app: TestApp;
  let admin: LoggedInUser;
  let user: LoggedInUser;

  const getMetrics = (authorization?: string) => {
    const request = app.rest.get('/metrics');
    return authorization === undefined ? request : request.set('Authorization', authorization);
  };

  beforeAll(async () => {
    app = await startTestApp({ DEMO_DATA: 'true', METRICS_TOKEN, USAGE_FLUSH_INTERVAL_MS: '50' });
    admin = await registerAndLogin(app, ADMIN_EMAIL);
    await grantAdmin(app, ADMIN_EMAIL);
    user = await registerAndLogin(app, 'metrics-user@example.com');
  });

  afterAll(async () => {
    await app.stop();
  });

  describe('access', () => {
    it('should answer 401 in the error shape without credentials', async () => {
      const response = await getMetrics().expect(401);
      expect(response.body).toEqual({ statusCode: 401, detail: "Not authenticated: send Authorization: Bearer <METRICS_TOKEN>, or an administrator's access_token" });
      expect(response.headers['www-authenticate']).toBe('Bearer');
    });

    it('should answer 401 for a wrong token, also one of the right length', async () => {
      for (const wrong of [randomBytes(24).toString('hex'), `${METRICS_TOKEN}x`, METRICS_TOKEN.slice(1)]) {
        const response = await getMetrics(`Bearer ${wrong}`).expect(401);
        expect(response.body).toEqual({ statusCode: 401, detail: 'Invalid token' });
      }
      expect((await getMetrics(METRICS_TOKEN).expect(401)).body.statusCode).toBe(401);
    });

    it("should answer 403 for a user's valid JWT", async () => {
      const response = await getMetrics(`Bearer ${user.jwt}`).expect(403);
      expect(response.body).toEqual({ statusCode: 403, detail: 'Administrators only' });
    });

    it("should serve the Prometheus text format for METRICS_TOKEN and for an administrator's JWT", async () => {
      for (const credential of [METRICS_TOKEN, admin.jwt]) {
        const response = await getMetrics(`Bearer ${credential}`).expect(200);
        expect(response.headers['content-type']).toBe(PROMETHEUS_CONTENT_TYPE);
        const families = parsePrometheusTextFormat(response.text);
        const types = Object.fromEntries(families.map((family) => [family.name, family.type]));
        expect(types).toMatchObject({
          mcp_tool_calls_total: 'COUNTER',
          mcp_tool_call_duration_seconds: 'HISTOGRAM',
          mcp_tool_records_returned_total: 'COUNTER',
          mcp_key_cache_hits_total: 'COUNTER',
          mcp_key_cache_misses_total: 'COUNTER',
          mcp_key_verifications_refused_total: 'COUNTER',
          mcp_rate_limit_refusals_total: 'COUNTER',
          mcp_quota_refusals_total: 'COUNTER',
          mcp_usage_spool_records: 'GAUGE',
          mcp_usage_spool_bytes: 'GAUGE',
          mcp_usage_spool_oldest_record_age_seconds: 'GAUGE',
          mcp_usage_insert_retries_total: 'COUNTER',
          process_cpu_user_seconds_total: 'COUNTER',
          nodejs_heap_size_used_bytes: 'GAUGE',
        });
      }
    });
  });

  it('should be documented in the OpenAPI document as text with the error shape for 401 and 403', async () => {
    const operation = (await app.rest.get('/docs-json').expect(200)).body.paths['/metrics'].get;
    expect(operation.tags).toEqual(['metrics']);
    expect(operation.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(operation.responses['200'].content)).toEqual(['text/plain']);
    for (const status of ['401', '403']) expect(operation.responses[status].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ErrorResponseDto' });
  });

  describe('tool calls', () => {
    it('should count each call by tool and outcome, its duration, and exactly the rows returned per table', async () => {
      const key = await createApiKey(app, user.jwt, { key_name: 'metrics-calls' });
      const calls = [
        { tool: 'search_stocks', table: 'ods_stock_basic', args: { query: '银行' } },
        { tool: 'get_daily_bars', table: 'ods_daily', args: { ts_code: '000001.SZ', start_date: '20251103', end_date: '20251107' } },
        { tool: 'get_daily_bars', table: 'ods_daily', args: { ts_code: 'bad code' } },
        { tool: 'get_daily_bars', table: 'ods_daily', args: { ts_code: '600519.SH', start_date: '20251110', end_date: '20251111' } },
      ];
      const before = await scrape(app);
      const rows: Record<string, number> = { ods_stock_basic: 0, ods_daily: 0 };
      const errors: string[] = [];
      for (const [index, call] of calls.entries()) {
        const { result } = (await rawRpc(app, toolCall(index, call.tool, call.args), key.api_key).expect(200)).body;
        if (result.isError) errors.push(call.tool);
        else rows[call.table] += result.structuredContent.row_count;
      }
      const moved = delta(before, await scrape(app));

      expect(errors).toEqual(['get_daily_bars']);
      expect(rows.ods_stock_basic).toBeGreaterThan(0);
      expect(rows.ods_daily).toBeGreaterThan(0);
      expect([
        moved('mcp_tool_calls_total', { tool: 'search_stocks', outcome: 'success' }),
        moved('mcp_tool_calls_total', { tool: 'search_stocks', outcome: 'error' }),
        moved('mcp_tool_calls_total', { tool: 'get_daily_bars', outcome: 'success' }),
        moved('mcp_tool_calls_total', { tool: 'get_daily_bars', outcome: 'error' }),
        moved('mcp_tool_calls_total', { tool: 'unknown', outcome: 'error' }),
      ]).toEqual([1, 0, 2, 1, 0]);
      expect([moved('mcp_tool_call_duration_seconds', { tool: 'search_stocks' }), moved('mcp_tool_call_duration_seconds', { tool: 'get_daily_bars' })]).toEqual([1, 3]);
      expect([moved('mcp_tool_records_returned_total', { table: 'ods_stock_basic' }), moved('mcp_tool_records_returned_total', { table: 'ods_daily' })]).toEqual([
        rows.ods_stock_basic,
        rows.ods_daily,
      ]);
      // A new key: its first call is looked up, the three after it come from the cache.
      expect([moved('mcp_key_cache_misses_total'), moved('mcp_key_cache_hits_total'), moved('mcp_key_verifications_refused_total', { reason: 'invalid_key' })]).toEqual([1, 3, 0]);
    });

    it('should count a hostile unknown tool name only under the fixed label "unknown"', async () => {
      const key = await createApiKey(app, user.jwt, { key_name: 'metrics-hostile' });
      const marker = randomBytes(8).toString('hex');
      const hostile = `evil_${marker}"} 1e9\n# TYPE mcp_tool_calls_total gauge\n`;
      const known = (await rawRpc(app, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }, key.api_key).expect(200)).body.result.tools.map((tool: { name: string }) => tool.name);
      const before = await scrape(app);

      const response = await rawRpc(app, toolCall(2, hostile, {}), key.api_key).expect(200);
      expect(response.body.error.code).toBe(-32602);
      const after = await scrape(app);

      expect(after.text).not.toContain(marker);
      expect(delta(before, after)('mcp_tool_calls_total', { tool: 'unknown', outcome: 'error' })).toBe(1);
      expect(delta(before, after)('mcp_tool_call_duration_seconds', { tool: 'unknown' })).toBe(1);
      const labelled = after.families.find((family) => family.name === 'mcp_tool_calls_total')!.metrics.map((sample) => sample.labels!.tool);
      expect([...new Set(labelled)].sort()).toEqual([...known, 'unknown'].sort());
    });
  });

  describe('rate limits and quotas', () => {
    it('should count a call over a rate limit and one past a quota, by quota and scope', async () => {
      const limited = await createApiKey(app, user.jwt, { key_name: 'metrics-rate', policy: { calls_per_minute: 1 } });
      const quoted = await createApiKey(app, user.jwt, { key_name: 'metrics-quota', policy: { records_per_day: 1 } });
      const call = toolCall(1, 'get_latest_bars', { ts_codes: ['600519.SH'] });
      const before = await scrape(app);
      await rawRpc(app, call, limited.api_key).expect(200);
      await rawRpc(app, call, limited.api_key).expect(429);
      await rawRpc(app, call, quoted.api_key).expect(200);
      await rawRpc(app, call, quoted.api_key).expect(403);
      await rawRpc(app, [call], quoted.api_key).expect(200);
      const moved = delta(before, await scrape(app));
      expect(moved('mcp_rate_limit_refusals_total')).toBe(1);
      expect(moved('mcp_quota_refusals_total', { quota: 'records_per_day', scope: 'key' })).toBe(2);
      expect(moved('mcp_quota_refusals_total', { quota: 'calls_per_day', scope: 'user' })).toBe(0);
    });
  });

  describe('key verification', () => {
    it('should count an unknown key as a lookup, then a cached verdict, each refused, and a missing key as refused', async () => {
      const stranger = strangerKey();
      const call = toolCall(1, 'search_stocks', { query: '银行' });
      const before = await scrape(app);
      await rawRpc(app, call, stranger).expect(401);
      const afterFirst = await scrape(app);
      await rawRpc(app, call, stranger).expect(401);
      await rawRpc(app, call).expect(401);
      const afterAll = await scrape(app);

      const first = delta(before, afterFirst);
      expect([first('mcp_key_cache_misses_total'), first('mcp_key_cache_hits_total'), first('mcp_key_verifications_refused_total', { reason: 'invalid_key' })]).toEqual([1, 0, 1]);
      const rest = delta(afterFirst, afterAll);
      expect([
        rest('mcp_key_cache_misses_total'),
        rest('mcp_key_cache_hits_total'),
        rest('mcp_key_verifications_refused_total', { reason: 'invalid_key' }),
        rest('mcp_key_verifications_refused_total', { reason: 'missing_key' }),
      ]).toEqual([0, 1, 1, 1]);
      const all = delta(before, afterAll);
      expect(['throttled', 'busy', 'unavailable'].map((reason) => all('mcp_key_verifications_refused_total', { reason }))).toEqual([0, 0, 0]);
      expect(all('mcp_tool_calls_total', { tool: 'search_stocks', outcome: 'success' })).toBe(0);
    });
  });

  describe('usage spool', () => {
    it('should report an empty spool once the calls reached ClickHouse, and no insert retries', async () => {
      const key = await createApiKey(app, user.jwt, { key_name: 'metrics-spool' });
      await rawRpc(app, toolCall(1, 'get_trade_calendar', { start_date: '2025-11-01', end_date: '2025-11-30' }), key.api_key).expect(200);
      expect(await waitForCount(app, key.key_id, 1)).toBe(1);

      const drained = await pollUntil(() => scrape(app), (current) => valueOf(current, 'mcp_usage_spool_records') === 0, { timeoutMs: 10_000, intervalMs: 50 });
      expect([valueOf(drained, 'mcp_usage_spool_records'), valueOf(drained, 'mcp_usage_spool_oldest_record_age_seconds'), valueOf(drained, 'mcp_usage_insert_retries_total')]).toEqual([0, 0, 0]);
      expect(valueOf(drained, 'mcp_usage_spool_bytes')).toBeGreaterThanOrEqual(0);
    });
  });

  describe('usage spool while records wait', () => {
    let slowApp: TestApp;

    beforeAll(async () => {
      // Records wait a minute before shipping, so the spool holds exactly what was called.
      slowApp = await startTestApp({ METRICS_TOKEN, USAGE_FLUSH_INTERVAL_MS: '60000' });
    });

    afterAll(async () => {
      await slowApp.stop();
    });

    it('should report the records waiting, their bytes and the age of the oldest', async () => {
      const owner = await registerAndLogin(slowApp, 'metrics-spool@example.com');
      const key = await createApiKey(slowApp, owner.jwt, { key_name: 'metrics-spool-wait' });
      const firstCallAt = Date.now();
      for (const id of [1, 2]) await rawRpc(slowApp, toolCall(id, 'get_trade_calendar', { start_date: '2025-11-01', end_date: '2025-11-30' }), key.api_key).expect(200);
      const current = await scrape(slowApp);
      const waited = (Date.now() - firstCallAt) / 1000;

      expect(valueOf(current, 'mcp_usage_spool_records')).toBe(2);
      expect(valueOf(current, 'mcp_usage_spool_bytes')).toBeGreaterThan(0);
      const age = valueOf(current, 'mcp_usage_spool_oldest_record_age_seconds');
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThanOrEqual(waited);
    });
  });
});
