import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { MarketDataModule } from '../market-data/market-data.module.js';
import { ApiKeyVerifier } from './api-key-verifier.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import { ApiKeyPoliciesRepository } from './api-key-policies.repository.js';
import { KeyChangeFeed } from './key-change-feed.js';
import { KeyCacheMetrics } from './key-cache.metrics.js';
import { LastUsedTracker } from './last-used-tracker.js';
import { McpKeysController } from './mcp-keys.controller.js';
import { McpKeysService } from './mcp-keys.service.js';

@Module({
  imports: [AuthModule, MarketDataModule],
  controllers: [McpKeysController],
  providers: [McpKeysService, ApiKeysRepository, ApiKeyPoliciesRepository, ApiKeyVerifier, LastUsedTracker, KeyChangeFeed, KeyCacheMetrics],
  exports: [ApiKeyVerifier, LastUsedTracker, McpKeysService],
})
export class McpKeysModule {}
