import { Global, Module } from '@nestjs/common';
import { ClickHouseService } from './clickhouse.service.js';
import { MigrationRunner } from './migration-runner.js';

@Global()
@Module({
  providers: [ClickHouseService, MigrationRunner],
  exports: [ClickHouseService, MigrationRunner],
})
export class ClickHouseModule {}
