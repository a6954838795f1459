import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { ApiKeyVerifier } from './api-key-verifier.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import { LastUsedTracker } from './last-used-tracker.js';
import { McpKeysController } from './mcp-keys.controller.js';
import { McpKeysService } from './mcp-keys.service.js';

@Module({
  imports: [AuthModule],
  controllers: [McpKeysController],
  providers: [McpKeysService, ApiKeysRepository, ApiKeyVerifier, LastUsedTracker],
  exports: [ApiKeyVerifier, LastUsedTracker, McpKeysService],
})
export class McpKeysModule {}
