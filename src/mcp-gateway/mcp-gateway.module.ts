import { Module, type OnApplicationBootstrap } from '@nestjs/common';
import { McpKeysModule } from '../mcp-keys/mcp-keys.module.js';
import { McpUsageModule } from '../mcp-usage/mcp-usage.module.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { DemoDataSeeder } from './demo-data/demo-data.seeder.js';
import { McpGatewayService } from './mcp-gateway.service.js';
import { McpHttpHandler } from './mcp-http.handler.js';
import { ToolCallHandler } from './tool-call.handler.js';
import { ToolRegistry } from './tool-registry.js';

@Module({
  imports: [McpKeysModule, McpUsageModule],
  providers: [McpGatewayService, McpHttpHandler, ApiKeyGuard, ToolRegistry, ToolCallHandler, DemoDataSeeder],
})
export class McpGatewayModule implements OnApplicationBootstrap {
  constructor(private readonly demoData: DemoDataSeeder) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.demoData.seedIfEmpty();
  }
}
