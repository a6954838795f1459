import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { ClickHouseHealthIndicator } from './clickhouse.health.js';
import { UsageHealthIndicator } from './usage.health.js';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly clickhouse: ClickHouseHealthIndicator,
    private readonly usage: UsageHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({ summary: 'Service health: 200 when ClickHouse answers and the usage queue accepts calls, else 503; details carry the usage queue counters' })
  check() {
    return this.health.check([() => this.clickhouse.isHealthy(), () => this.usage.isHealthy()]);
  }
}
