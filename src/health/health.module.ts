import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { McpUsageModule } from '../mcp-usage/mcp-usage.module.js';
import { ClickHouseHealthIndicator } from './clickhouse.health.js';
import { HealthController } from './health.controller.js';
import { UsageHealthIndicator } from './usage.health.js';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), McpUsageModule],
  controllers: [HealthController],
  providers: [ClickHouseHealthIndicator, UsageHealthIndicator],
})
export class HealthModule {}
