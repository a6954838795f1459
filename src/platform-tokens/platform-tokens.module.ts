import { Module } from '@nestjs/common';
import { McpKeysModule } from '../mcp-keys/mcp-keys.module.js';
import { PlatformTokensService } from './platform-tokens.service.js';
import { PlatformUsageRepository } from './platform-usage.repository.js';
import { PlatformUsageService } from './platform-usage.service.js';

/** The original's management platform: its query-pack tokens at the MCP door, and the usage report it reconciles packs with. */
@Module({
  imports: [McpKeysModule],
  providers: [PlatformTokensService, PlatformUsageService, PlatformUsageRepository],
  exports: [PlatformUsageService],
})
export class PlatformTokensModule {}
