import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { McpKeysModule } from '../mcp-keys/mcp-keys.module.js';
import { AccountChanges } from './account-changes.service.js';
import { AdminController } from './admin.controller.js';
import { AdminService } from './admin.service.js';
import { AuditLogModule } from './audit-log.module.js';
import { UsageSummaryRepository } from './usage-summary.repository.js';

/** The operator view under /api/admin (administrators only); re-exports the audit log for other admin routes. */
@Module({
  imports: [AuthModule, McpKeysModule, AuditLogModule],
  controllers: [AdminController],
  providers: [AdminService, AccountChanges, UsageSummaryRepository],
  exports: [AuditLogModule],
})
export class AdminModule {}
