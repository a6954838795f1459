import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { McpUsageController } from './mcp-usage.controller.js';
import { McpUsageService } from './mcp-usage.service.js';
import { UsageInterceptor } from './usage.interceptor.js';
import { UsageRepository } from './usage.repository.js';
import { UsageWriter } from './usage-writer.js';

@Module({
  imports: [AuthModule],
  controllers: [McpUsageController],
  providers: [McpUsageService, UsageRepository, UsageWriter, UsageInterceptor],
  exports: [UsageInterceptor, UsageWriter],
})
export class McpUsageModule {}
