import { Module } from '@nestjs/common';
import { AuditLogRepository } from './audit-log.repository.js';
import { AuditLogService } from './audit-log.service.js';

/**
 * The audit log alone (it needs only ClickHouse), so a module whose admin routes change things
 * can import it without importing AdminModule, which imports the feature modules.
 */
@Module({
  providers: [AuditLogService, AuditLogRepository],
  exports: [AuditLogService],
})
export class AuditLogModule {}
