import { seriesOf } from '../../test/support/metric-series.js';
import { loadAppConfig } from '../config/app-config.js';
import { UNKNOWN_LABEL } from '../metrics/known-labels.js';
import { MetricsRegistry } from '../metrics/metrics-registry.js';
import { ToolCallMetrics, type ToolCallObservation } from './tool-call.metrics.js';
import { ToolRegistry } from './tool-registry.js';

const config = loadAppConfig({ CLICKHOUSE_URL: 'http://127.0.0.1:8123', MCP_TOOL_SETS: 'stock' });

const call = (tool: string, table: string, records: number, failed = false): ToolCallObservation => ({ tool, table, records, failed, seconds: 0.004 });

describe(ToolCallMetrics.name, () => {
  let registry: MetricsRegistry;
  let metrics: ToolCallMetrics;
  let knownTools: string[];

  beforeEach(() => {
    const tools = new ToolRegistry(config);
    knownTools = tools.definitions.map((tool) => tool.name);
    registry = new MetricsRegistry();
    metrics = new ToolCallMetrics(registry, tools);
  });

  describe('observeToolCall', () => {
    it('should count known tools and tables under their own names', async () => {
      metrics.observeToolCall(call('get_daily_bars', 'ods_daily', 5));
      metrics.observeToolCall(call('get_daily_bars', 'ods_daily', 3));
      metrics.observeToolCall(call('get_daily_bars', '', 0, true));
      metrics.observeToolCall(call('search_stocks', 'ods_stock_basic', 2));

      const calls = await seriesOf(registry, 'mcp_tool_calls_total');
      expect([calls['get_daily_bars/success'], calls['get_daily_bars/error'], calls['search_stocks/success'], calls['search_stocks/error']]).toEqual([2, 1, 1, 0]);
      const durations = await seriesOf(registry, 'mcp_tool_call_duration_seconds');
      expect([durations.get_daily_bars, durations.search_stocks, durations.get_trade_calendar]).toEqual([3, 1, 0]);
      const records = await seriesOf(registry, 'mcp_tool_records_returned_total');
      expect([records.ods_daily, records.ods_stock_basic, records.ods_trade_calendar]).toEqual([8, 2, 0]);
    });

    it('should count every other tool or table name under the one fixed label, adding no series', async () => {
      const seriesBefore = Object.keys(await seriesOf(registry, 'mcp_tool_calls_total'));
      const hostile = ['drop_table', '__proto__', 'constructor', 'toString', 'x'.repeat(10_000), 'a"b\nc\\d', '', 'GET_DAILY_BARS', 'tushare_daily_get_daily_data'];
      for (const name of hostile) metrics.observeToolCall(call(name, name, 1));

      const calls = await seriesOf(registry, 'mcp_tool_calls_total');
      expect(Object.keys(calls)).toEqual(seriesBefore);
      expect(Object.keys(calls).sort()).toEqual([...knownTools, UNKNOWN_LABEL].flatMap((tool) => [`${tool}/error`, `${tool}/success`]).sort());
      expect(calls[`${UNKNOWN_LABEL}/success`]).toBe(hostile.length);
      expect((await seriesOf(registry, 'mcp_tool_call_duration_seconds'))[UNKNOWN_LABEL]).toBe(hostile.length);
      const records = await seriesOf(registry, 'mcp_tool_records_returned_total');
      expect(Object.keys(records).sort()).toEqual(['ods_adj_factor', 'ods_daily', 'ods_daily_basic', 'ods_stock_basic', 'ods_trade_calendar', UNKNOWN_LABEL]);
      expect(records[UNKNOWN_LABEL]).toBe(hostile.length);
    });
  });
});
