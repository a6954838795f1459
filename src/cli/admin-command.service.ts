import { Injectable } from '@nestjs/common';
import { AccountChanges } from '../admin/account-changes.service.js';
import { SERVER_COMMAND } from '../admin/audit-log.service.js';
import { normalizeEmail } from '../auth/email-address.js';
import type { User } from '../auth/user.js';
import { UsersRepository } from '../auth/users.repository.js';

/** An email no account has: the command changes nothing and says so. */
export class UnknownAccountError extends Error {}

/** An email several accounts have: the command changes nothing and lists them. */
export class AmbiguousAccountError extends Error {}

const describe = (user: User) => `${user.email} (id ${user.id}${user.isActive ? '' : ', disabled'})`;

/**
 * `npm run admin -- grant|revoke|list`: admin rights given by whoever runs commands on the server,
 * the one way besides an existing administrator and the users.is_admin column itself. Changes are
 * the admin routes' (AccountChanges): audited with admin_user_id "cli", saved as a new row version.
 */
@Injectable()
export class AdminCommand {
  constructor(
    private readonly users: UsersRepository,
    private readonly accounts: AccountChanges,
  ) {}

  /** What happened, in a sentence for the operator. */
  async setAdmin(email: string, admin: boolean): Promise<string> {
    const user = await this.onlyAccountOf(email);
    const already = user.isAdmin === admin;
    await this.accounts.setAdmin(SERVER_COMMAND, user, admin);
    if (admin) return already ? `${describe(user)} was already an administrator; nothing changed` : `${describe(user)} is now an administrator`;
    return already ? `${describe(user)} was not an administrator; nothing changed` : `${describe(user)} is no longer an administrator`;
  }

  /**
   * The one account with this email in any case. Several (rows the original service wrote in
   * another case, or its re-registrations of a disabled account) are refused rather than guessed
   * between: picking one could make a stranger's look-alike account the administrator.
   */
  private async onlyAccountOf(email: string): Promise<User> {
    const accounts = await this.users.findAllByEmail(normalizeEmail(email));
    if (accounts.length === 0) throw new UnknownAccountError(`No account has the email ${JSON.stringify(email)}; nothing changed`);
    if (accounts.length > 1) {
      throw new AmbiguousAccountError(`${accounts.length} accounts have the email ${JSON.stringify(email)}: ${accounts.map(describe).join(', ')}; nothing changed (set users.is_admin for the one you mean)`);
    }
    return accounts[0];
  }

  /** One line per administrator, oldest first. */
  async list(): Promise<string[]> {
    return (await this.users.admins()).map(describe);
  }
}
