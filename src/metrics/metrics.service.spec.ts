import type { MetricValueWithName } from 'prom-client';
import { loadAppConfig } from '../config/app-config.js';
import { ToolRegistry } from '../market-data/tool-registry.js';
import { UNKNOWN_LABEL } from './known-labels.js';
import { Metrics, type ToolCallObservation } from './metrics.service.js';

const config = loadAppConfig({ CLICKHOUSE_URL: 'http://127.0.0.1:8123', MCP_TOOL_SETS: 'stock' });

/** Every series of one metric as `labels -> value` (histograms: their _count series). */
async function seriesOf(metrics: Metrics, name: string): Promise<Record<string, number>> {
  const metric = await metrics.registry.getSingleMetric(name)!.get();
  const series = (metric.values as MetricValueWithName<string>[]).filter((value) => value.metricName === undefined || value.metricName === `${name}_count`);
  return Object.fromEntries(series.map((value) => [Object.values(value.labels).join('/'), value.value]));
}

const call = (tool: string, table: string, records: number, failed = false): ToolCallObservation => ({ tool, table, records, failed, seconds: 0.004 });

describe(Metrics.name, () => {
  let metrics: Metrics;
  let knownTools: string[];

  beforeEach(() => {
    const tools = new ToolRegistry(config);
    knownTools = tools.definitions.map((tool) => tool.name);
    metrics = new Metrics(tools);
  });

  describe('observeToolCall', () => {
    it('should count known tools and tables under their own names', async () => {
      metrics.observeToolCall(call('get_daily_bars', 'ods_daily', 5));
      metrics.observeToolCall(call('get_daily_bars', 'ods_daily', 3));
      metrics.observeToolCall(call('get_daily_bars', '', 0, true));
      metrics.observeToolCall(call('search_stocks', 'ods_stock_basic', 2));

      const calls = await seriesOf(metrics, 'mcp_tool_calls_total');
      expect([calls['get_daily_bars/success'], calls['get_daily_bars/error'], calls['search_stocks/success'], calls['search_stocks/error']]).toEqual([2, 1, 1, 0]);
      const durations = await seriesOf(metrics, 'mcp_tool_call_duration_seconds');
      expect([durations.get_daily_bars, durations.search_stocks, durations.get_trade_calendar]).toEqual([3, 1, 0]);
      const records = await seriesOf(metrics, 'mcp_tool_records_returned_total');
      expect([records.ods_daily, records.ods_stock_basic, records.ods_trade_calendar]).toEqual([8, 2, 0]);
    });

    it('should count every other tool or table name under the one fixed label, adding no series', async () => {
      const seriesBefore = Object.keys(await seriesOf(metrics, 'mcp_tool_calls_total'));
      const hostile = ['drop_table', '__proto__', 'constructor', 'toString', 'x'.repeat(10_000), 'a"b\nc\\d', '', 'GET_DAILY_BARS', 'tushare_daily_get_daily_data'];
      for (const name of hostile) metrics.observeToolCall(call(name, name, 1));

      const calls = await seriesOf(metrics, 'mcp_tool_calls_total');
      expect(Object.keys(calls)).toEqual(seriesBefore);
      expect(Object.keys(calls).sort()).toEqual([...knownTools, UNKNOWN_LABEL].flatMap((tool) => [`${tool}/error`, `${tool}/success`]).sort());
      expect(calls[`${UNKNOWN_LABEL}/success`]).toBe(hostile.length);
      expect((await seriesOf(metrics, 'mcp_tool_call_duration_seconds'))[UNKNOWN_LABEL]).toBe(hostile.length);
      const records = await seriesOf(metrics, 'mcp_tool_records_returned_total');
      expect(Object.keys(records).sort()).toEqual(['ods_adj_factor', 'ods_daily', 'ods_daily_basic', 'ods_stock_basic', 'ods_trade_calendar', UNKNOWN_LABEL]);
      expect(records[UNKNOWN_LABEL]).toBe(hostile.length);
    });
  });

  it('should start every known series and refusal reason at zero, so rate() works before the first call', async () => {
    const refused = await seriesOf(metrics, 'mcp_key_verifications_refused_total');
    expect(refused).toEqual({ missing_key: 0, invalid_key: 0, throttled: 0, busy: 0, unavailable: 0 });
    metrics.refuseKey('throttled');
    expect((await seriesOf(metrics, 'mcp_key_verifications_refused_total')).throttled).toBe(1);
  });

  it('should own its registry, with the process metrics, apart from any other instance', async () => {
    const other = new Metrics(new ToolRegistry(config));
    metrics.keyCacheHits.inc();
    expect([(await metrics.keyCacheHits.get()).values[0].value, (await other.keyCacheHits.get()).values[0].value]).toEqual([1, 0]);
    expect(await metrics.registry.metrics()).toMatch(/^process_cpu_user_seconds_total \d/m);
  });
});
