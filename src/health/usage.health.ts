import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { UsageWriter } from '../mcp-usage/usage-writer.js';

/** The usage queue: down while it refuses calls (full or shut down), with its counters either way. */
@Injectable()
export class UsageHealthIndicator {
  constructor(
    private readonly writer: UsageWriter,
    private readonly health: HealthIndicatorService,
  ) {}

  isHealthy(key = 'usage_writer') {
    const status = this.writer.status();
    const indicator = this.health.check(key);
    const full = status.queue_depth >= status.queue_capacity;
    return status.accepting && !full ? indicator.up({ ...status }) : indicator.down({ ...status, message: full ? 'usage queue is full: tool calls are refused' : 'shutting down' });
  }
}
