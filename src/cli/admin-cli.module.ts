import { type DynamicModule, Module } from '@nestjs/common';
import { AccountChanges } from '../admin/account-changes.service.js';
import { AuditLogModule } from '../admin/audit-log.module.js';
import { UsersRepository } from '../auth/users.repository.js';
import { ClickHouseModule } from '../clickhouse/clickhouse.module.js';
import type { AppConfig } from '../config/app-config.js';
import { AppConfigModule } from '../config/config.module.js';
import { AdminCommand } from './admin-command.service.js';

/** Only what `npm run admin` needs: the users table and the audit log, through the app's own providers. */
@Module({})
export class AdminCliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AdminCliModule,
      imports: [AppConfigModule.forRoot(config), ClickHouseModule, AuditLogModule],
      providers: [UsersRepository, AccountChanges, AdminCommand],
    };
  }
}
