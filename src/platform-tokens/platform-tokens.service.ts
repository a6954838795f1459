import { Inject, Injectable, Logger } from '@nestjs/common';
import type { KeyObject } from 'node:crypto';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ApiKeyVerifier, type VerifiedKey } from '../mcp-keys/api-key-verifier.js';
import type { KeyPolicy } from '../mcp-keys/key-policy.js';
import { looksLikePlatformToken, platformTokenKeyId, verifyPlatformToken } from './platform-token.js';

/**
 * What a platform token may do: every tool and table (the original's whole tool set), the default
 * rate limit, and no quota of keys (0: none): its pack is its quota, as the original meters it.
 */
const PLATFORM_TOKEN_POLICY: Readonly<KeyPolicy> = Object.freeze({ tools: [], tables: [], callsPerMinute: null, recordsPerDay: 0, recordsPerMonth: 0, callsPerDay: 0 });

/**
 * The original's management platform sells query packs and issues each buyer an RS256 token
 * (MCP_JWT_PUBLIC_KEY_PATH holds its public key). Such tokens pass the MCP door beside `sk-` keys
 * and OAuth tokens: the key verifier checks them through this service and caches them like keys.
 */
@Injectable()
export class PlatformTokensService {
  constructor(verifier: ApiKeyVerifier, @Inject(APP_CONFIG) config: AppConfig) {
    const { publicKey } = config.platform;
    if (!publicKey) return;
    verifier.acceptSelfContainedTokens({ isWellFormed: looksLikePlatformToken, verify: (token, now) => toVerifiedKey(token, publicKey, now) });
    new Logger(PlatformTokensService.name).log('management platform tokens (RS256) are accepted on the MCP port');
  }
}

function toVerifiedKey(token: string, publicKey: KeyObject, now: Date): VerifiedKey | undefined {
  const claims = verifyPlatformToken(token, publicKey, now);
  if (!claims) return undefined;
  return {
    keyId: platformTokenKeyId(token),
    userId: claims.subject,
    expiresAt: claims.expiresAt ?? null,
    // One policy object per verdict: metering keeps its rules per policy object (a WeakMap), so they
    // go with the cached verdict instead of piling up under one shared object for every token seen.
    policy: Object.freeze({ ...PLATFORM_TOKEN_POLICY }),
    selfContained: { packRecords: claims.packRecords },
  };
}
