import { randomUUID } from 'node:crypto';
import { ConflictException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { nextVersionTime, toIsoSeconds, toIsoSecondsOrNull } from '../clickhouse/datetime.js';
import { SerialQueue } from '../common/serial-queue.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { type ApiKey, apiKeyPrefix, generateApiKey, hashApiKey, isExpired } from './api-key.js';
import { ApiKeyVerifier } from './api-key-verifier.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import type { CreateKeyDto, CreateKeyResponseDto } from './dto/create-key.dto.js';
import { type KeyListDto, KeySummaryDto } from './dto/key-list.dto.js';

const DAY_MS = 86_400_000;

@Injectable()
export class McpKeysService {
  private readonly logger = new Logger(McpKeysService.name);
  private readonly creations = new SerialQueue();

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly verifier: ApiKeyVerifier,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Creates a key and returns it in full: the only time it is ever shown. */
  create(userId: string, dto: CreateKeyDto): Promise<CreateKeyResponseDto> {
    return this.creations.run(async () => {
      await this.assertBelowCap(userId);
      const rawKey = generateApiKey();
      // Second precision, as stored, so the response matches what list shows later.
      const createdAt = new Date(Math.floor(Date.now() / 1000) * 1000);
      const key: ApiKey = {
        id: randomUUID(),
        userId,
        keyName: dto.key_name ?? 'default',
        keyHash: hashApiKey(rawKey),
        prefix: apiKeyPrefix(rawKey),
        isActive: true,
        expiresAt: dto.expires_days ? new Date(createdAt.getTime() + dto.expires_days * DAY_MS) : null,
        createdAt,
        updatedAt: createdAt,
      };
      await this.keys.save(key);
      this.logger.log({ userId, keyId: key.id, prefix: key.prefix }, 'api key created');
      return {
        success: true,
        message: 'API key created. Save it now: it will not be shown again.',
        api_key: rawKey,
        key_id: key.id,
        key_name: key.keyName,
        api_key_prefix: key.prefix,
        created_at: toIsoSeconds(key.createdAt),
        expires_at: toIsoSecondsOrNull(key.expiresAt),
      };
    });
  }

  async list(userId: string): Promise<KeyListDto> {
    const now = new Date();
    const keys = (await this.keys.listForUser(userId)).map((key) => KeySummaryDto.from(key, now));
    return { keys, total: keys.length };
  }

  /** Revokes one of the caller's keys; takes effect on this instance's very next MCP request. */
  async revoke(userId: string, keyId: string): Promise<void> {
    await this.revokeKey(found(await this.keys.findOwned(userId, keyId)));
  }

  /** Any user's key (for administrators); 404 when there is none with this id. */
  async findKey(keyId: string): Promise<ApiKey> {
    return found(await this.keys.findById(keyId));
  }

  /** The one revoke path, for owners and administrators: revoking twice is harmless. */
  async revokeKey(key: ApiKey): Promise<void> {
    if (key.isActive) {
      await this.keys.save({ ...key, isActive: false, updatedAt: nextVersionTime(key.updatedAt) });
      this.logger.log({ userId: key.userId, keyId: key.id, prefix: key.prefix }, 'api key revoked');
    }
    this.verifier.evict(key.keyHash);
  }

  /**
   * Forgets this instance's verdicts on a user's keys after an administrator disabled or enabled
   * the account: valid ones (cached by owner) and refusals cached while the account was disabled
   * (cached by key, so each of the user's keys is evicted).
   */
  async forgetVerdictsOf(userId: string): Promise<void> {
    this.verifier.evictUser(userId);
    for (const key of await this.keys.listForUser(userId)) this.verifier.evict(key.keyHash);
  }

  private async assertBelowCap(userId: string): Promise<void> {
    const now = new Date();
    const usable = (await this.keys.listForUser(userId)).filter((key) => key.isActive && !isExpired(key, now));
    const cap = this.config.mcp.maxKeysPerUser;
    if (usable.length >= cap) throw new ConflictException(`You already have ${cap} active API keys; revoke one before creating another`);
  }
}

function found(key: ApiKey | undefined): ApiKey {
  if (!key) throw new NotFoundException('API key not found');
  return key;
}
