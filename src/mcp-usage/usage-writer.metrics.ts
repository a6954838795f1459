import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsRegistry } from '../metrics/metrics-registry.js';
import { UsageWriter, type UsageWriterStatus } from './usage-writer.js';

/**
 * The usage pipeline's backlog, read from UsageWriter.status() when Prometheus scrapes, so the
 * writer's hot path does no extra work. A growing spool or oldest record age means ClickHouse is
 * not taking the usage log; retries tell how often inserts failed.
 */
@Injectable()
export class UsageWriterMetrics {
  readonly spoolRecords: Gauge;
  readonly spoolBytes: Gauge;
  readonly oldestRecordAge: Gauge;
  readonly insertRetries: Counter;

  constructor(metrics: MetricsRegistry, writer: UsageWriter) {
    const registers = [metrics.registry];
    const gauge = (name: string, help: string, read: (status: UsageWriterStatus) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(writer.status()));
        },
      });
    this.spoolRecords = gauge('mcp_usage_spool_records', 'Usage records on local disk that ClickHouse has not confirmed yet', (status) => status.queue_depth);
    this.spoolBytes = gauge('mcp_usage_spool_bytes', 'Bytes the usage spool holds on local disk', (status) => status.spool_bytes);
    this.oldestRecordAge = gauge('mcp_usage_spool_oldest_record_age_seconds', 'Age of the oldest usage record not yet in ClickHouse (0 when none)', (status) => status.oldest_record_age_ms / 1000);
    this.insertRetries = new Counter({
      name: 'mcp_usage_insert_retries_total',
      help: 'Usage log inserts into ClickHouse retried after a failure',
      registers,
      collect() {
        // The writer keeps the count; a scrape copies it.
        this.reset();
        this.inc(writer.status().retries);
      },
    });
  }
}
