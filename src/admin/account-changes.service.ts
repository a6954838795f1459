import { Injectable, Logger } from '@nestjs/common';
import type { User } from '../auth/user.js';
import { UsersRepository } from '../auth/users.repository.js';
import { nextVersionTime } from '../clickhouse/datetime.js';
import { type AuditAction, type AuditActor, AuditLogService } from './audit-log.service.js';

type Flags = Pick<User, 'isActive' | 'isAdmin'>;

/**
 * Operator changes to a `users` row, for the admin routes and for `npm run admin` alike: audited
 * first (see AuditLogService), then saved as the row's next version, as the original service's
 * operators would; a change to what the account already is writes nothing, audit row included.
 */
@Injectable()
export class AccountChanges {
  private readonly logger = new Logger(AccountChanges.name);

  constructor(
    private readonly users: UsersRepository,
    private readonly audit: AuditLogService,
  ) {}

  /** Disables or enables the account; returns it as it is now. */
  setActive(actor: AuditActor, user: User, active: boolean): Promise<User> {
    return this.change(actor, user, active ? 'user.enable' : 'user.disable', { isActive: active }, { was_active: user.isActive });
  }

  /** Grants or revokes admin rights; returns the account as it is now. */
  setAdmin(actor: AuditActor, user: User, admin: boolean): Promise<User> {
    return this.change(actor, user, admin ? 'user.grant_admin' : 'user.revoke_admin', { isAdmin: admin }, { was_admin: user.isAdmin });
  }

  private async change(actor: AuditActor, user: User, action: AuditAction, flags: Partial<Flags>, before: Record<string, boolean>): Promise<User> {
    const changed = { ...user, ...flags };
    // Nothing to record: an audit row or a row version for a no-op would say something happened.
    if (changed.isActive === user.isActive && changed.isAdmin === user.isAdmin) return user;
    await this.audit.record(actor, action, { type: 'user', id: user.id }, { email: user.email, ...before });
    const saved = { ...changed, updatedAt: nextVersionTime(user.updatedAt) };
    await this.users.save(saved);
    this.logger.log({ actorId: actor.id, userId: user.id, action }, 'account changed');
    return saved;
  }
}
