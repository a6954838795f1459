import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { UserProfileDto } from '../auth/dto/user-profile.dto.js';
import type { User } from '../auth/user.js';
import { UsersRepository } from '../auth/users.repository.js';
import type { KeyListDto } from '../mcp-keys/dto/key-list.dto.js';
import type { SuccessDto } from '../mcp-keys/dto/revoke-key.dto.js';
import { type KeyPolicyDto, type KeyPolicyResponseDto, KeyPolicyViewDto } from '../mcp-keys/dto/key-policy.dto.js';
import { McpKeysService } from '../mcp-keys/mcp-keys.service.js';
import { AccountChanges } from './account-changes.service.js';
import { AuditLogService } from './audit-log.service.js';
import type { AdminUserListDto } from './dto/admin-users.dto.js';
import { type PageQueryDto, pageOffset } from './dto/page-query.dto.js';
import type { UsageSummaryDto, UsageSummaryQueryDto, UsageSummaryRowDto } from './dto/usage-summary.dto.js';
import { resolveDayRange } from './usage-day-range.js';
import { UsageSummaryRepository } from './usage-summary.repository.js';

/** Groups a summary shows; one more is read to tell whether there were more. */
export const SUMMARY_MAX_ROWS = 1000;

/**
 * The operator view: usage of all users, accounts and their keys. Every change is written to the
 * audit log first (see AuditLogService), then made, then this instance's key cache is told.
 */
@Injectable()
export class AdminService {
  constructor(
    private readonly users: UsersRepository,
    private readonly accounts: AccountChanges,
    private readonly keys: McpKeysService,
    private readonly usage: UsageSummaryRepository,
    private readonly audit: AuditLogService,
  ) {}

  async usageSummary(query: UsageSummaryQueryDto, now = new Date()): Promise<UsageSummaryDto> {
    const range = resolveDayRange(query, now);
    const [totals, grouped] = await Promise.all([this.usage.totals(range), this.usage.grouped(range, query.group_by, SUMMARY_MAX_ROWS + 1)]);
    const rows = grouped.slice(0, SUMMARY_MAX_ROWS);
    return {
      start_date: range.startDate,
      end_date: range.endDate,
      group_by: query.group_by,
      totals,
      rows: query.group_by === 'user' ? await this.withEmails(rows) : rows,
      truncated: grouped.length > SUMMARY_MAX_ROWS,
    };
  }

  async listUsers(query: PageQueryDto): Promise<AdminUserListDto> {
    const [users, total] = await Promise.all([this.users.page(query.page_size, pageOffset(query)), this.users.count()]);
    return { users: users.map((user) => UserProfileDto.from(user)), total, page: query.page, page_size: query.page_size };
  }

  /** The account's JWTs and MCP keys are refused from the next request on (keys: on this instance; others within MCP_KEY_CACHE_TTL_SECONDS). */
  async disableUser(admin: User, userId: string): Promise<UserProfileDto> {
    if (userId === admin.id) throw new ConflictException('You cannot disable your own account; ask another administrator');
    return this.changeAccount(userId, (user) => this.accounts.setActive(admin, user, false));
  }

  enableUser(admin: User, userId: string): Promise<UserProfileDto> {
    return this.changeAccount(userId, (user) => this.accounts.setActive(admin, user, true));
  }

  /** The account may use /api/admin from its next request on (every JWT request reads the row). */
  grantAdmin(admin: User, userId: string): Promise<UserProfileDto> {
    return this.changeAccount(userId, (user) => this.accounts.setAdmin(admin, user, true));
  }

  /** Refused for oneself, so the last administrator cannot lock everyone out through the API. */
  async revokeAdmin(admin: User, userId: string): Promise<UserProfileDto> {
    if (userId === admin.id) throw new ConflictException('You cannot revoke your own admin rights; ask another administrator');
    return this.changeAccount(userId, (user) => this.accounts.setAdmin(admin, user, false));
  }

  async listUserKeys(userId: string): Promise<KeyListDto> {
    await this.existingUser(userId);
    return this.keys.list(userId);
  }

  /** Any user's key, through the owners' revoke path: refused on this instance's very next MCP call. */
  async revokeKey(admin: User, keyId: string): Promise<SuccessDto> {
    const key = await this.keys.findKey(keyId);
    await this.audit.record(admin, 'key.revoke', { type: 'key', id: key.id }, { user_id: key.userId, key_name: key.keyName, api_key_prefix: key.prefix, was_active: key.isActive });
    await this.keys.revokeKey(key);
    return { success: true, message: 'API key revoked' };
  }

  /** Any user's key policy, the limits above the defaults included; audited before it is saved. */
  async setKeyPolicy(admin: User, keyId: string, change: KeyPolicyDto): Promise<KeyPolicyResponseDto> {
    const key = await this.keys.findKey(keyId);
    const { previous, next } = await this.keys.nextPolicy(admin, key, change);
    await this.audit.record(admin, 'key.policy', { type: 'key', id: key.id }, { user_id: key.userId, previous: KeyPolicyViewDto.from(previous), policy: KeyPolicyViewDto.from(next.policy) });
    return this.keys.savePolicy(admin, key, next);
  }

  private async changeAccount(userId: string, change: (user: User) => Promise<User>): Promise<UserProfileDto> {
    const user = await this.existingUser(userId);
    const changed = await change(user);
    // This instance's cached key verdicts hold the account as it was.
    this.keys.forgetVerdictsOf(user.id);
    return UserProfileDto.from(changed);
  }

  private async existingUser(userId: string): Promise<User> {
    const user = await this.users.findById(userId);
    if (!user) throw new NotFoundException('User not found');
    return user;
  }

  private async withEmails(rows: UsageSummaryRowDto[]): Promise<UsageSummaryRowDto[]> {
    const emails = await this.users.emailsOf(rows.map((row) => row.key));
    return rows.map((row) => ({ ...row, email: emails.get(row.key) ?? null }));
  }
}
