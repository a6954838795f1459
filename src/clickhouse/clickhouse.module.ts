import { Global, Module } from '@nestjs/common';
import { ClickHouseService } from './clickhouse.service.js';
import { SchemaService } from './schema/schema.service.js';

@Global()
@Module({
  providers: [ClickHouseService, SchemaService],
  exports: [ClickHouseService, SchemaService],
})
export class ClickHouseModule {}
