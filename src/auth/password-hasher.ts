import { Inject, Injectable } from '@nestjs/common';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { hash as bcryptHash, verify as bcryptVerify } from '@node-rs/bcrypt';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';

/** passlib's bcrypt default cost, which the original service uses. */
const BCRYPT_COST = 12;
const BCRYPT_PREFIX = /^\$2[aby]\$/;

/**
 * Password hashes both services can check. Verifies bcrypt (`$2b$`, what the original's passlib
 * CryptContext writes; passwords past 72 bytes are cut there, as passlib + bcrypt 4 do) and
 * argon2id (what earlier versions of this gateway wrote). New hashes are bcrypt cost 12 by
 * default, so an account registered here can still log in to the original; PASSWORD_HASH=argon2id
 * chooses the stronger, memory-hard hash when the original is gone.
 */
@Injectable()
export class PasswordHasher {
  // Checked when the email is unknown, so both login failures cost the same time.
  private readonly decoyHash: Promise<string>;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.decoyHash = this.hash('decoy-password-for-unknown-emails');
  }

  hash(password: string): Promise<string> {
    return this.config.passwordHash === 'argon2id' ? argon2Hash(password) : bcryptHash(password, BCRYPT_COST);
  }

  async verify(passwordHash: string | undefined, password: string): Promise<boolean> {
    const target = passwordHash ?? (await this.decoyHash);
    const matches = await verifyAny(target, password).catch(() => false);
    return matches && passwordHash !== undefined;
  }
}

function verifyAny(passwordHash: string, password: string): Promise<boolean> {
  if (BCRYPT_PREFIX.test(passwordHash)) return bcryptVerify(password, passwordHash);
  if (passwordHash.startsWith('$argon2')) return argon2Verify(passwordHash, password);
  return Promise.resolve(false);
}
