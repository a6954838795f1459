import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { MarketDataModule } from '../market-data/market-data.module.js';
import { McpUsageController } from './mcp-usage.controller.js';
import { McpUsageService } from './mcp-usage.service.js';
import { UsageInterceptor } from './usage.interceptor.js';
import { UsageRepository } from './usage.repository.js';
import { UsageWriter } from './usage-writer.js';
import { UsageWriterMetrics } from './usage-writer.metrics.js';

@Module({
  imports: [AuthModule, MarketDataModule],
  controllers: [McpUsageController],
  providers: [McpUsageService, UsageRepository, UsageWriter, UsageInterceptor, UsageWriterMetrics],
  exports: [UsageInterceptor, UsageWriter],
})
export class McpUsageModule {}
