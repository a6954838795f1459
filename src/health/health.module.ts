import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { McpMeteringModule } from '../mcp-metering/mcp-metering.module.js';
import { McpUsageModule } from '../mcp-usage/mcp-usage.module.js';
import { ClickHouseHealthIndicator } from './clickhouse.health.js';
import { HealthController } from './health.controller.js';
import { MeteringHealthIndicator } from './metering.health.js';
import { UsageHealthIndicator } from './usage.health.js';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), McpUsageModule, McpMeteringModule],
  controllers: [HealthController],
  providers: [ClickHouseHealthIndicator, UsageHealthIndicator, MeteringHealthIndicator],
})
export class HealthModule {}
