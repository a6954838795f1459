import { Module } from '@nestjs/common';
import { MarketDataModule } from '../market-data/market-data.module.js';
import { McpKeysModule } from '../mcp-keys/mcp-keys.module.js';
import { McpMeteringModule } from '../mcp-metering/mcp-metering.module.js';
import { McpOAuthModule } from '../mcp-oauth/mcp-oauth.module.js';
import { McpUsageModule } from '../mcp-usage/mcp-usage.module.js';
import { PlatformTokensModule } from '../platform-tokens/platform-tokens.module.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { GatewayMetrics } from './gateway.metrics.js';
import { LegacySseService } from './legacy-sse.service.js';
import { McpGatewayService } from './mcp-gateway.service.js';
import { McpHttpHandler } from './mcp-http.handler.js';

/** The MCP port: its one door (McpHttpHandler), the key guard, and the per-request SDK server. */
@Module({
  imports: [McpKeysModule, McpUsageModule, McpMeteringModule, McpOAuthModule, MarketDataModule, PlatformTokensModule],
  providers: [McpGatewayService, LegacySseService, McpHttpHandler, ApiKeyGuard, GatewayMetrics],
})
export class McpGatewayModule {}
