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
import { MetricsModule } from './metrics/metrics.module.js';
import { MetricsEndpointModule } from './metrics-endpoint/metrics-endpoint.module.js';
import { createLoggerOptions } from './common/logger.options.js';
import { type Clock, systemClock } from './common/clock.js';
import { ClockModule } from './common/clock.module.js';
import { McpMeteringModule } from './mcp-metering/mcp-metering.module.js';
import { McpOAuthModule } from './mcp-oauth/mcp-oauth.module.js';

@Module({})
export class AppModule {
  /** `clock` is the system clock but for tests that move time (quota periods). */
  static forRoot(config: AppConfig, clock: Clock = systemClock): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        ClockModule.forRoot(clock),
        LoggerModule.forRoot(createLoggerOptions(config.logLevel)),
        ClickHouseModule,
        HealthModule,
        AuthModule,
        McpKeysModule,
        McpUsageModule,
        McpMeteringModule,
        McpOAuthModule,
        McpGatewayModule,
        MetricsModule,
        MetricsEndpointModule,
        AdminModule,
      ],
    };
  }
}
