import { type CanActivate, type ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { User } from './user.js';

/**
 * Admits administrators only: the users.is_admin flag (the original service's column), which only
 * an operator sets (see README, Administration). Runs after JwtAuthGuard, which sets req.user from
 * the database on every request, so a revoked admin flag or a disabled account takes effect at once.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const user = context.switchToHttp().getRequest<Request & { user?: User }>().user;
    if (!user?.isAdmin) throw new ForbiddenException('Administrators only');
    return true;
  }
}
