import { randomUUID } from 'node:crypto';
import { ConflictException, ForbiddenException, Inject, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { SerialQueue } from '../common/serial-queue.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { LoginDto } from './dto/login.dto.js';
import type { RegisterDto } from './dto/register.dto.js';
import type { TokenDto } from './dto/token.dto.js';
import { EmailAllowList } from './email-allow-list.js';
import { LoginLockout } from './login-lockout.js';
import { PasswordHasher } from './password-hasher.js';
import type { User } from './user.js';
import { UsersRepository } from './users.repository.js';

/** The claims of a login token, the same as the original service's (which adds exp and iat too). */
export interface JwtPayload {
  sub: string;
  email: string;
  tier: string;
}

const BAD_CREDENTIALS = 'Incorrect email or password';

/** The account the original service creates on first start, with a password printed in its source. */
const ORIGINAL_DEFAULT_ADMIN = { email: 'admin@localhost', password: 'Admin1234' };
const isOriginalDefaultAdmin = (dto: LoginDto) => dto.email === ORIGINAL_DEFAULT_ADMIN.email && dto.password === ORIGINAL_DEFAULT_ADMIN.password;

@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);
  private readonly registrations = new SerialQueue();

  constructor(
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
    private readonly jwt: JwtService,
    private readonly lockout: LoginLockout,
    private readonly allowList: EmailAllowList,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  register(dto: RegisterDto): Promise<User> {
    return this.registrations.run(() => this.createUser(dto));
  }

  /** `address` is the client's, for the per-account lockout (LoginLockout). */
  async login(dto: LoginDto, address: string): Promise<TokenDto> {
    const account = await this.authenticate(dto, address);
    const payload: JwtPayload = { sub: account.id, email: account.email, tier: account.subscriptionTier };
    return {
      access_token: await this.jwt.signAsync(payload),
      token_type: 'bearer',
      expires_in: this.config.jwt.expiresInSeconds,
    };
  }

  /**
   * The active account these credentials sign in to (the REST login, and the OAuth sign-in page);
   * 401 for wrong credentials, 403 for a disabled account, 429 while the account is locked.
   */
  async authenticate(dto: LoginDto, address: string): Promise<User> {
    let user: User | undefined;
    const matches = await this.lockout.attempt(dto.email, address, async () => {
      user = await this.users.findToSignIn(dto.email);
      return this.hasher.verify(user?.passwordHash, dto.password);
    });
    if (!matches || !user) throw new UnauthorizedException(BAD_CREDENTIALS);
    if (isOriginalDefaultAdmin(dto)) {
      throw new ForbiddenException(`${ORIGINAL_DEFAULT_ADMIN.email} still has the original service's default password; change it there before logging in here`);
    }
    if (!user.isActive) throw new ForbiddenException('This account is disabled');
    return user;
  }

  /** The user behind a verified JWT or API key, if the account still exists and is active. */
  async activeUser(userId: string): Promise<User | undefined> {
    const user = await this.users.findById(userId);
    return user?.isActive ? user : undefined;
  }

  private async createUser(dto: RegisterDto): Promise<User> {
    if (!(await this.allowList.allows(dto.email))) {
      throw new ForbiddenException('Registration is limited to invited emails here; ask an administrator to add yours');
    }
    // Any account, disabled ones too: a disabled account's email registered anew would be the
    // disabled person back in, with a password of their choosing.
    if (await this.users.findByEmail(dto.email)) throw new ConflictException('Email already registered');
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    // Nothing a request says makes an administrator: only an operator does (users.is_admin, an
    // admin's POST /api/admin/users/{id}/admin, or `npm run admin -- grant` on the server).
    const user: User = {
      id: randomUUID(),
      email: dto.email,
      username: dto.username ?? dto.email.split('@')[0],
      passwordHash: await this.hasher.hash(dto.password),
      isActive: true,
      isAdmin: false,
      subscriptionTier: 'free',
      createdAt: now,
      updatedAt: now,
    };
    await this.users.save(user);
    this.logger.log({ userId: user.id }, 'user registered');
    return user;
  }
}
