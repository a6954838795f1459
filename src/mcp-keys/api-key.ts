import { hash, randomBytes } from 'node:crypto';

/** A stored key: everything but the key itself. */
export interface ApiKey {
  id: string;
  userId: string;
  keyName: string;
  keyHash: string;
  prefix: string;
  isActive: boolean;
  expiresAt: Date | null;
  createdAt: Date;
  /** The version of this row: a revoke is saved as a new row with a later updated_at. */
  updatedAt: Date;
}

/** What checking a key needs, as the hash index holds it. */
export interface KeyVerdict {
  id: string;
  userId: string;
  isActive: boolean;
  expiresAt: Date | null;
}

const KEY_PATTERN = /^sk-[0-9a-f]{64}$/;

/** `sk-` + 64 hex characters (256 bits from the CSPRNG), the original service's format. */
export function generateApiKey(): string {
  return `sk-${randomBytes(32).toString('hex')}`;
}

export function isWellFormedApiKey(candidate: string): boolean {
  return KEY_PATTERN.test(candidate);
}

/** Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force. */
export function hashApiKey(key: string): string {
  return hash('sha256', key, 'hex');
}

/** What users see to recognise a key: its first 12 characters. */
export function apiKeyPrefix(key: string): string {
  return `${key.slice(0, 12)}...`;
}

export function isExpired(key: Pick<ApiKey, 'expiresAt'>, now = new Date()): boolean {
  return key.expiresAt !== null && key.expiresAt.getTime() <= now.getTime();
}
