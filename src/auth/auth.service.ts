import { randomUUID } from 'node:crypto';
import { ConflictException, ForbiddenException, Inject, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { SerialQueue } from '../common/serial-queue.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { LoginDto } from './dto/login.dto.js';
import type { RegisterDto } from './dto/register.dto.js';
import type { TokenDto } from './dto/token.dto.js';
import { LoginLockout } from './login-lockout.js';
import { PasswordHasher } from './password-hasher.js';
import type { User } from './user.js';
import { UsersRepository } from './users.repository.js';

export interface JwtPayload {
  sub: string;
  email: string;
}

const BAD_CREDENTIALS = 'Incorrect email or password';

@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);
  private readonly registrations = new SerialQueue();

  constructor(
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
    private readonly jwt: JwtService,
    private readonly lockout: LoginLockout,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  register(dto: RegisterDto): Promise<User> {
    return this.registrations.run(() => this.createUser(dto));
  }

  /** `address` is the client's, for the per-account lockout (LoginLockout). */
  async login(dto: LoginDto, address: string): Promise<TokenDto> {
    this.lockout.assertMayTry(dto.email, address);
    const user = await this.users.findByEmail(dto.email);
    if (!(await this.hasher.verify(user?.passwordHash, dto.password)) || !user) {
      this.lockout.recordFailure(dto.email);
      throw new UnauthorizedException(BAD_CREDENTIALS);
    }
    this.lockout.recordSuccess(dto.email, address);
    if (!user.isActive) throw new ForbiddenException('This account is disabled');
    const payload: JwtPayload = { sub: user.id, email: user.email };
    return {
      access_token: await this.jwt.signAsync(payload),
      token_type: 'bearer',
      expires_in: this.config.jwt.expiresInSeconds,
    };
  }

  /** The user behind a verified JWT, if the account still exists and is active. */
  async activeUser(userId: string): Promise<User | undefined> {
    const user = await this.users.findById(userId);
    return user?.isActive ? user : undefined;
  }

  private async createUser(dto: RegisterDto): Promise<User> {
    if (await this.users.findByEmail(dto.email)) throw new ConflictException('Email already registered');
    const now = new Date();
    const user: User = {
      id: randomUUID(),
      email: dto.email,
      username: dto.username ?? dto.email.split('@')[0],
      passwordHash: await this.hasher.hash(dto.password),
      isActive: true,
      isAdmin: false,
      createdAt: now,
      updatedAt: now,
    };
    await this.users.save(user);
    this.logger.log({ userId: user.id }, 'user registered');
    return user;
  }
}
