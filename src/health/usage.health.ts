import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { UsageWriter } from '../mcp-usage/usage-writer.js';

/** The usage pipeline: down while it refuses calls (spool full or shutting down), with its counters either way. */
@Injectable()
export class UsageHealthIndicator {
  constructor(
    private readonly writer: UsageWriter,
    private readonly health: HealthIndicatorService,
  ) {}

  isHealthy(key = 'usage_writer') {
    const status = this.writer.status();
    const indicator = this.health.check(key);
    if (this.writer.isAccepting()) return indicator.up({ ...status });
    const message = status.accepting ? 'usage spool is full: tool calls are refused until ClickHouse takes the backlog' : 'shutting down';
    return indicator.down({ ...status, message });
  }
}
