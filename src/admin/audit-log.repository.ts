import { Injectable } from '@nestjs/common';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { fromUnixSeconds } from '../clickhouse/datetime.js';
import { SchemaService } from '../clickhouse/schema/schema.service.js';
import { int, sql } from '../clickhouse/sql.js';
import { ADMIN_AUDIT_LOG_TABLE } from './audit-log.table.js';

/** One stored admin action; `details` is the JSON text as stored. */
export type AuditRow = {
  id: string;
  created_at: number;
  admin_user_id: string;
  admin_email: string;
  action: string;
  target_type: string;
  target_id: string;
  details: string;
};

export interface StoredAuditEntry extends Omit<AuditRow, 'created_at'> {
  createdAt: Date;
}

@Injectable()
export class AuditLogRepository {
  constructor(
    private readonly clickhouse: ClickHouseService,
    schema: SchemaService,
  ) {
    schema.register(ADMIN_AUDIT_LOG_TABLE);
  }

  /** Resolves once ClickHouse has stored the row (a MergeTree insert is synchronous). */
  async insert(row: AuditRow): Promise<void> {
    await this.clickhouse.insert(ADMIN_AUDIT_LOG_TABLE.name, [row]);
  }

  /** Newest first: ids are UUIDv7, so they order the actions within one second. */
  async page(limit: number, offset: number): Promise<StoredAuditEntry[]> {
    const rows = await this.clickhouse.query<AuditRow>(sql`
      SELECT id, toUnixTimestamp(created_at) AS created_at, admin_user_id, admin_email, action, target_type, target_id, details
      FROM admin_audit_log
      ORDER BY created_at DESC, id DESC
      LIMIT ${int(offset)}, ${int(limit)}`);
    return rows.map(({ created_at, ...row }) => ({ ...row, createdAt: fromUnixSeconds(created_at) }));
  }

  async count(): Promise<number> {
    const [row] = await this.clickhouse.query<{ total: string }>(sql`SELECT count() AS total FROM admin_audit_log`);
    return Number(row.total);
  }
}
