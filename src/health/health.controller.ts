import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { ClickHouseHealthIndicator } from './clickhouse.health.js';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly clickhouse: ClickHouseHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({ summary: 'Service health: 200 when ClickHouse answers, 503 when it does not' })
  check() {
    return this.health.check([() => this.clickhouse.isHealthy()]);
  }
}
