import { Injectable } from '@nestjs/common';
import { hash, verify } from '@node-rs/argon2';

/** argon2id, the library's default algorithm, with its default cost (OWASP's 19 MiB, t=2, p=1). */
@Injectable()
export class PasswordHasher {
  // Verified against when the email is unknown, so both login failures cost the same time.
  private readonly decoyHash = hash('decoy-password-for-unknown-emails');

  hash(password: string): Promise<string> {
    return hash(password);
  }

  async verify(passwordHash: string | undefined, password: string): Promise<boolean> {
    const target = passwordHash ?? (await this.decoyHash);
    const matches = await verify(target, password).catch(() => false);
    return matches && passwordHash !== undefined;
  }
}
