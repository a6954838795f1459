import { Module } from '@nestjs/common';
import { McpUsageModule } from '../mcp-usage/mcp-usage.module.js';
import { MeteringService } from './metering.service.js';
import { MeteringMetrics } from './metering.metrics.js';
import { UsageCountsRepository } from './usage-counts.repository.js';

/** Per-key rate limits and the record and call quotas, counted from the usage log. */
@Module({
  imports: [McpUsageModule],
  providers: [MeteringService, UsageCountsRepository, MeteringMetrics],
  exports: [MeteringService],
})
export class McpMeteringModule {}
