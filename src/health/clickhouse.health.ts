import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';

@Injectable()
export class ClickHouseHealthIndicator {
  constructor(
    private readonly clickhouse: ClickHouseService,
    private readonly health: HealthIndicatorService,
  ) {}

  async isHealthy(key = 'clickhouse') {
    const indicator = this.health.check(key);
    try {
      const version = await this.clickhouse.serverVersion();
      return indicator.up({ version, database: this.clickhouse.database, server: this.clickhouse.serverInUse });
    } catch (error) {
      return indicator.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }
}
