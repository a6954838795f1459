import { Module, type OnApplicationBootstrap } from '@nestjs/common';
import { DemoDataSeeder } from './demo-data/demo-data.seeder.js';
import { MarketCache } from './market-cache.js';
import { MarketCacheMetrics } from './market-cache.metrics.js';
import { MarketDataRepository } from './market-data.repository.js';
import { ToolCallHandler } from './tool-call.handler.js';
import { ToolRegistry } from './tool-registry.js';
import { ToolCallMetrics } from './tool-call.metrics.js';

/** The tushare market tables (ods_*), the data tools over them, their tool sets and the demo data. */
@Module({
  providers: [MarketDataRepository, ToolRegistry, ToolCallHandler, DemoDataSeeder, ToolCallMetrics, MarketCache, MarketCacheMetrics],
  exports: [ToolRegistry, ToolCallHandler, ToolCallMetrics],
})
export class MarketDataModule implements OnApplicationBootstrap {
  constructor(private readonly demoData: DemoDataSeeder) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.demoData.seedIfEmpty();
  }
}
