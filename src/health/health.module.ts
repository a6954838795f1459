import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ClickHouseHealthIndicator } from './clickhouse.health.js';
import { HealthController } from './health.controller.js';

@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [ClickHouseHealthIndicator],
})
export class HealthModule {}
