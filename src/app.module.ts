import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AdminModule } from './admin/admin.module.js';
import { AuthModule } from './auth/auth.module.js';
import { ClickHouseModule } from './clickhouse/clickhouse.module.js';
import type { AppConfig } from './config/app-config.js';
import { AppConfigModule } from './config/config.module.js';
import { HealthModule } from './health/health.module.js';
import { McpGatewayModule } from './mcp-gateway/mcp-gateway.module.js';
import { McpKeysModule } from './mcp-keys/mcp-keys.module.js';
import { McpUsageModule } from './mcp-usage/mcp-usage.module.js';
import { createLoggerOptions } from './common/logger.options.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        LoggerModule.forRoot(createLoggerOptions(config)),
        ClickHouseModule,
        HealthModule,
        AuthModule,
        McpKeysModule,
        McpUsageModule,
        McpGatewayModule,
        AdminModule,
      ],
    };
  }
}
