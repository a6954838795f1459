import { type CanActivate, type ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import { ExtractJwt } from 'passport-jwt';
import { isObservable, lastValueFrom } from 'rxjs';
import { AdminGuard } from '../auth/admin.guard.js';
import { JwtAuthGuard } from '../auth/jwt-auth.guard.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { MetricsToken } from './metrics-token.js';

/** The same reading of the header as the JWT guard's, so both judge the same credential. */
const bearerCredential = ExtractJwt.fromAuthHeaderAsBearerToken();

/**
 * GET /metrics: a Prometheus server's METRICS_TOKEN, or else an administrator's login JWT (the
 * JWT guard, then the admin guard). No credential or a wrong one is 401; a user's JWT is 403.
 */
@Injectable()
export class MetricsAccessGuard implements CanActivate {
  private readonly token: MetricsToken | undefined;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly jwt: JwtAuthGuard,
    private readonly admin: AdminGuard,
  ) {
    this.token = config.metrics.token === undefined ? undefined : new MetricsToken(config.metrics.token);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const credential = bearerCredential(context.switchToHttp().getRequest<Request>());
    if (!credential) throw new UnauthorizedException('Not authenticated: send Authorization: Bearer <METRICS_TOKEN>, or an administrator\'s access_token');
    if (this.token?.matches(credential)) return true;
    return (await passes(this.jwt, context)) && (await passes(this.admin, context));
  }
}

/** A guard may answer with a value, a promise or an observable (passport's answers with a promise). */
async function passes(guard: CanActivate, context: ExecutionContext): Promise<boolean> {
  const verdict = guard.canActivate(context);
  return isObservable(verdict) ? lastValueFrom(verdict) : verdict;
}
