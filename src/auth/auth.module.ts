import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { ThrottlerModule } from '@nestjs/throttler';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { AdminGuard } from './admin.guard.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { ClientAddressThrottlerGuard } from './client-address-throttler.guard.js';
import { EmailAllowList } from './email-allow-list.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import { LoginLockout } from './login-lockout.js';
import { JwtStrategy } from './jwt.strategy.js';
import { PasswordHasher } from './password-hasher.js';
import { UsersRepository } from './users.repository.js';

@Module({
  imports: [
    PassportModule,
    JwtModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        secret: config.jwt.secret,
        signOptions: { algorithm: 'HS256', expiresIn: config.jwt.expiresInSeconds },
      }),
    }),
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        throttlers: [{ ttl: config.authRateLimit.windowSeconds * 1000, limit: config.authRateLimit.limit }],
      }),
    }),
  ],
  controllers: [AuthController],
  providers: [AuthService, AdminGuard, UsersRepository, EmailAllowList, PasswordHasher, LoginLockout, JwtStrategy, JwtAuthGuard, ClientAddressThrottlerGuard],
  exports: [JwtAuthGuard, AdminGuard, AuthService, UsersRepository],
})
export class AuthModule {}
