import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService } from '@nestjs/terminus';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ClickHouseHealthIndicator } from './clickhouse.health.js';
import { MeteringHealthIndicator } from './metering.health.js';
import { UsageHealthIndicator } from './usage.health.js';

/**
 * Up or down for anyone (load balancers, orchestrators); the details (database, usage queue
 * counters, error texts) only when HEALTH_DETAILS=true, since they tell strangers about the
 * deployment.
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly clickhouse: ClickHouseHealthIndicator,
    private readonly usage: UsageHealthIndicator,
    private readonly metering: MeteringHealthIndicator,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Service health: 200 when ClickHouse answers and the usage queue accepts calls, else 503' })
  @ApiResponse({ status: 200, description: 'Healthy', schema: { example: { status: 'ok' } } })
  @ApiResponse({ status: 503, description: 'Unhealthy', schema: { example: { statusCode: 503, status: 'error', detail: 'Service unavailable' } } })
  async check(): Promise<Record<string, unknown>> {
    try {
      const result = await this.health.check([() => this.clickhouse.isHealthy(), () => this.usage.isHealthy(), () => this.metering.isHealthy()]);
      return this.config.http.healthDetails ? result : { status: result.status };
    } catch (error) {
      if (this.config.http.healthDetails || !(error instanceof ServiceUnavailableException)) throw error;
      throw new ServiceUnavailableException({ status: 'error', detail: 'Service unavailable' });
    }
  }
}
