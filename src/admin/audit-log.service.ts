import { Injectable, Logger } from '@nestjs/common';
import type { User } from '../auth/user.js';
import { toIsoSeconds, unixSeconds } from '../clickhouse/datetime.js';
import { uuidV7, uuidV7Time } from '../common/uuid-v7.js';
import { AuditLogRepository, type StoredAuditEntry } from './audit-log.repository.js';
import type { AuditEntryDto, AuditLogDto } from './dto/audit-log.dto.js';
import { type PageQueryDto, pageOffset } from './dto/page-query.dto.js';

/** The admin actions the log knows; add one here when an admin route gains a new kind of change. */
export type AuditAction = 'user.disable' | 'user.enable' | 'user.grant_admin' | 'user.revoke_admin' | 'key.revoke' | 'key.policy';

/** Who acted: an administrator's account, or SERVER_COMMAND for `npm run admin` on the server. */
export type AuditActor = Pick<User, 'id' | 'email'>;

/** The actor of `npm run admin`: no account (no email), someone with a shell on the server. */
export const SERVER_COMMAND: AuditActor = { id: 'cli', email: '' };

export interface AuditTarget {
  type: 'user' | 'key';
  id: string;
}

/**
 * The admin audit log (admin_audit_log), for every route that changes something on an admin's
 * say-so. Callers record BEFORE they change anything and only go on once record() resolved: an
 * action whose row could not be stored is never carried out, so every change has its row (a row
 * whose change then failed is possible; the admin saw the error and a retry is logged again).
 */
@Injectable()
export class AuditLogService {
  private readonly logger = new Logger(AuditLogService.name);

  constructor(private readonly repository: AuditLogRepository) {}

  /**
   * Stores one action by `actor` on `target`. `details` (JSON-serialisable) says what the target
   * was before and with which parameters, e.g. `{ was_active: true }` or a policy's new values.
   * Rejects when ClickHouse did not store the row (the REST filter answers 503).
   */
  async record(actor: AuditActor, action: AuditAction, target: AuditTarget, details: Record<string, unknown> = {}): Promise<AuditEntryDto> {
    const id = uuidV7();
    const entry = { id, admin_user_id: actor.id, admin_email: actor.email, action, target_type: target.type, target_id: target.id, details: JSON.stringify(details) };
    await this.repository.insert({ ...entry, created_at: unixSeconds(uuidV7Time(id)) });
    this.logger.log({ auditId: id, adminId: actor.id, action, targetType: target.type, targetId: target.id }, 'admin action');
    return toDto({ ...entry, createdAt: uuidV7Time(id) });
  }

  async list(query: PageQueryDto): Promise<AuditLogDto> {
    const [entries, total] = await Promise.all([this.repository.page(query.page_size, pageOffset(query)), this.repository.count()]);
    return { entries: entries.map(toDto), total, page: query.page, page_size: query.page_size };
  }
}

function toDto(entry: StoredAuditEntry): AuditEntryDto {
  const { createdAt, details, ...fields } = entry;
  return { ...fields, created_at: toIsoSeconds(createdAt), details: parseDetails(details) };
}

/** Rows are written by record() as JSON objects; anything else (a hand-made row) is shown as text rather than lost. */
function parseDetails(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // falls through to the text itself
  }
  return { text };
}
