import { Global, Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { MarketDataModule } from '../market-data/market-data.module.js';
import { McpMeteringModule } from '../mcp-metering/mcp-metering.module.js';
import { McpUsageModule } from '../mcp-usage/mcp-usage.module.js';
import { MeteringMetrics } from './metering.metrics.js';
import { MetricsAccessGuard } from './metrics-access.guard.js';
import { MetricsController } from './metrics.controller.js';
import { Metrics } from './metrics.service.js';
import { UsageWriterMetrics } from './usage-writer.metrics.js';

/** Prometheus metrics: the Metrics instruments, injectable everywhere, and GET /metrics on the REST port. */
@Global()
@Module({
  imports: [AuthModule, MarketDataModule, McpUsageModule, McpMeteringModule],
  controllers: [MetricsController],
  providers: [Metrics, UsageWriterMetrics, MeteringMetrics, MetricsAccessGuard],
  exports: [Metrics],
})
export class MetricsModule {}
