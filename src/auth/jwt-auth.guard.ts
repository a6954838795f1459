import { Injectable, UnauthorizedException } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';

/** Guards REST routes with the login JWT, with a clear 401 detail for each way it can fail. */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  override handleRequest<TUser>(error: Error | null, user: TUser | false, info: unknown): TUser {
    if (error) throw error;
    if (user) return user;
    throw new UnauthorizedException(describeJwtFailure(info));
  }
}

function describeJwtFailure(info: unknown): string {
  const name = info instanceof Error ? info.name : undefined;
  if (name === 'TokenExpiredError') return 'Token has expired; log in again';
  if (name === 'JsonWebTokenError' || name === 'NotBeforeError') return 'Invalid token';
  return 'Not authenticated: send Authorization: Bearer <access_token> from /api/auth/login';
}
