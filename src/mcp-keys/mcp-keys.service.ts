import { BadRequestException, ConflictException, ForbiddenException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import type { User } from '../auth/user.js';
import { nextVersionTime, toIsoSeconds, toIsoSecondsOrNull } from '../clickhouse/datetime.js';
import { SerialQueue } from '../common/serial-queue.js';
import { uuidV7 } from '../common/uuid-v7.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { QUOTA_NAMES } from '../config/settings.js';
import { ToolRegistry } from '../market-data/tool-registry.js';
import { type ApiKey, apiKeyPrefix, generateApiKey, hashApiKey, isExpired } from './api-key.js';
import { ApiKeyVerifier } from './api-key-verifier.js';
import { ApiKeyPoliciesRepository, type StoredPolicy } from './api-key-policies.repository.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import type { CreateKeyDto, CreateKeyResponseDto } from './dto/create-key.dto.js';
import { type KeyListDto, KeySummaryDto } from './dto/key-list.dto.js';
import { type KeyPolicyDto, type KeyPolicyResponseDto, KeyPolicyViewDto } from './dto/key-policy.dto.js';
import { type KeyPolicy, UNRESTRICTED_POLICY, quotaOf } from './key-policy.js';

const DAY_MS = 86_400_000;

/** Who asks: only administrators may loosen limits. */
type Actor = Pick<User, 'id' | 'isAdmin'>;

@Injectable()
export class McpKeysService {
  private readonly logger = new Logger(McpKeysService.name);
  private readonly creations = new SerialQueue();

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly policies: ApiKeyPoliciesRepository,
    private readonly verifier: ApiKeyVerifier,
    private readonly registry: ToolRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Creates a key and returns it in full: the only time it is ever shown. */
  async create(user: Actor, dto: CreateKeyDto): Promise<CreateKeyResponseDto> {
    const policy = this.checkedPolicy(user, await this.startingPolicy(user), dto.policy ?? {});
    return this.creations.run(async () => {
      await this.assertBelowCap(user.id);
      const rawKey = generateApiKey();
      const key = newKey(user.id, dto.key_name ?? 'default', rawKey, apiKeyPrefix(rawKey), dto.expires_days ?? null);
      const { createdAt } = key;
      // The policy first: a key must never be usable without the limits it was created with.
      if (!isUnrestricted(policy.policy)) await this.policies.save(key.id, user.id, policy, user.id, createdAt);
      await this.keys.save(key);
      this.logger.log({ userId: user.id, keyId: key.id, prefix: key.prefix }, 'api key created');
      return {
        success: true,
        message: 'API key created. Save it now: it will not be shown again.',
        api_key: rawKey,
        key_id: key.id,
        key_name: key.keyName,
        api_key_prefix: key.prefix,
        created_at: toIsoSeconds(key.createdAt),
        expires_at: toIsoSecondsOrNull(key.expiresAt),
        policy: KeyPolicyViewDto.from(policy.policy),
      };
    });
  }

  /**
   * The key an OAuth sign-in stands for: its secret is never shown (only the tokens issued for it
   * are used), and its prefix marks it as a sign-in. Sign-ins have their own cap of
   * MCP_MAX_KEYS_PER_USER beside pasted keys; past it, the user's oldest sign-in is signed out.
   */
  createSignInKey(userId: string, keyName: string, expiresDays: number): Promise<ApiKey> {
    return this.creations.run(async () => {
      // Oldest first: ids are UUIDv7, so sign-ins made within one second keep their order too.
      const signIns = (await this.usableKeys(userId)).filter(isSignInKey).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
      for (const oldest of signIns.slice(0, Math.max(0, signIns.length - this.config.mcp.maxKeysPerUser + 1))) await this.revokeKey(oldest);
      const key = newKey(userId, keyName, generateApiKey(), SIGN_IN_KEY_PREFIX, expiresDays);
      const ceiling = await this.policies.ceilingForNewKeysOf(userId);
      if (ceiling && !isUnrestricted(ceiling)) await this.policies.save(key.id, userId, { policy: ceiling, ceiling }, userId, key.createdAt);
      await this.keys.save(key);
      this.logger.log({ userId, keyId: key.id }, 'OAuth sign-in key created');
      return key;
    });
  }

  async list(userId: string): Promise<KeyListDto> {
    const now = new Date();
    const userKeys = await this.keys.listForUser(userId);
    const policies = await this.policies.findForKeys(userKeys.map((key) => key.id));
    const keys = userKeys.map((key) => KeySummaryDto.from(key, policies.get(key.id)?.policy ?? UNRESTRICTED_POLICY, now));
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
    this.verifier.forget(key);
  }

  /** The user's key when it is active and unexpired (what an OAuth refresh may extend). */
  async usableKey(userId: string, keyId: string): Promise<ApiKey | undefined> {
    const key = await this.keys.findOwned(userId, keyId);
    return key && isUsable(key) ? key : undefined;
  }

  /** Changes one of the caller's keys' policy (404 for anyone else's key). */
  async setOwnPolicy(owner: Actor, keyId: string, change: KeyPolicyDto): Promise<KeyPolicyResponseDto> {
    const key = found(await this.keys.findOwned(owner.id, keyId));
    return this.savePolicy(owner, key, (await this.nextPolicy(owner, key, change)).next);
  }

  /** The key's policy before and after `change`, checked (400, 403) but not saved yet: an administrator's change is audited first. */
  async nextPolicy(actor: Actor, key: ApiKey, change: KeyPolicyDto): Promise<{ previous: KeyPolicy; next: StoredPolicy }> {
    const stored = await this.policies.findWithCeiling(key.id);
    return { previous: stored.policy, next: this.checkedPolicy(actor, stored, change) };
  }

  /**
   * Saves a key's policy; this instance applies it from the key's next MCP request on (others
   * within MCP_KEY_CACHE_TTL_SECONDS, as for a revoke).
   */
  async savePolicy(actor: Actor, key: ApiKey, next: StoredPolicy): Promise<KeyPolicyResponseDto> {
    await this.policies.save(key.id, key.userId, next, actor.id, new Date());
    this.verifier.forget(key);
    this.logger.log({ keyId: key.id, by: actor.id }, 'api key policy changed');
    return { success: true, key_id: key.id, policy: KeyPolicyViewDto.from(next.policy) };
  }

  /** A new key starts at the ceiling an administrator set on the user's keys (administrators' own keys: unrestricted). */
  private async startingPolicy(user: Actor): Promise<StoredPolicy> {
    const ceiling = user.isAdmin ? null : await this.policies.ceilingForNewKeysOf(user.id);
    return { policy: ceiling ?? { ...UNRESTRICTED_POLICY }, ceiling };
  }

  /**
   * The policy after a change, checked: scopes name tools and tables this service serves. An
   * administrator's policy becomes the key's ceiling; an owner may only tighten it (and, without
   * one, may not set a limit above the service's default).
   */
  private checkedPolicy(actor: Actor, current: StoredPolicy, change: KeyPolicyDto): StoredPolicy {
    const was = current.policy;
    const policy: KeyPolicy = {
      tools: unique(change.tools === undefined ? was.tools : (change.tools ?? [])),
      tables: unique(change.tables === undefined ? was.tables : (change.tables ?? [])),
      callsPerMinute: change.calls_per_minute === undefined ? was.callsPerMinute : change.calls_per_minute,
      recordsPerDay: change.records_per_day === undefined ? was.recordsPerDay : change.records_per_day,
      recordsPerMonth: change.records_per_month === undefined ? was.recordsPerMonth : change.records_per_month,
      callsPerDay: change.calls_per_day === undefined ? was.callsPerDay : change.calls_per_day,
    };
    this.assertKnown('tools', policy.tools, new Set(this.registry.definitions.map((tool) => tool.name)));
    this.assertKnown('tables', policy.tables, this.registry.tables());
    if (actor.isAdmin) return { policy, ceiling: { ...policy, setAt: Date.now() } };
    this.assertWithinCeiling(policy, current.ceiling);
    return { policy, ceiling: current.ceiling };
  }

  private assertKnown(field: 'tools' | 'tables', names: string[], known: ReadonlySet<string>): void {
    const unknown = names.filter((name) => !known.has(name));
    if (unknown.length > 0) {
      throw new BadRequestException(`policy.${field}: not served here: ${unknown.map((name) => JSON.stringify(name.slice(0, 100))).join(', ')} (GET tools/list for the names)`);
    }
  }

  /** An owner's policy: no limit looser than the administrator's ceiling, else than the service default. */
  private assertWithinCeiling(policy: KeyPolicy, ceiling: KeyPolicy | null): void {
    const { defaultCallsPerMinute, keyQuotas } = this.config.metering;
    const limits: [string, number | null, number | null, number][] = [
      ['calls_per_minute', policy.callsPerMinute, ceiling?.callsPerMinute ?? null, defaultCallsPerMinute],
      ...QUOTA_NAMES.map((name): [string, number | null, number | null, number] => [name, quotaOf(policy, name), ceiling ? quotaOf(ceiling, name) : null, keyQuotas[name]]),
    ];
    for (const [field, value, ceilingValue, serviceDefault] of limits) {
      if (ceilingValue !== null && (value === null || value > ceilingValue)) {
        throw new ForbiddenException(`policy.${field}: an administrator set at most ${ceilingValue} for this key; you may only lower it`);
      }
      if (ceilingValue === null && serviceDefault > 0 && value !== null && value > serviceDefault) {
        throw new ForbiddenException(`policy.${field} above the service default (${serviceDefault}) can only be set by an administrator`);
      }
    }
    for (const field of ['tools', 'tables'] as const) {
      const allowed = ceiling?.[field] ?? [];
      if (allowed.length > 0 && (policy[field].length === 0 || policy[field].some((name) => !allowed.includes(name)))) {
        throw new ForbiddenException(`policy.${field}: an administrator limited this key to ${allowed.join(', ')}; you may only narrow that`);
      }
    }
  }

  /**
   * Forgets this instance's verdicts on a user's keys and tokens after an administrator disabled
   * or enabled the account: valid ones, and refusals cached while the account was disabled.
   */
  forgetVerdictsOf(userId: string): void {
    this.verifier.forgetChanges({ userIds: new Set([userId]) });
  }

  /** 409 when the user already has MCP_MAX_KEYS_PER_USER usable keys of their own (sign-ins aside). */
  private async assertBelowCap(userId: string): Promise<void> {
    const pasted = (await this.usableKeys(userId)).filter((key) => !isSignInKey(key));
    const cap = this.config.mcp.maxKeysPerUser;
    if (pasted.length >= cap) throw new ConflictException(`You already have ${cap} active API keys; revoke one before creating another`);
  }

  private async usableKeys(userId: string): Promise<ApiKey[]> {
    const now = new Date();
    return (await this.keys.listForUser(userId)).filter((key) => isUsable(key, now));
  }
}

const unique = (names: string[]) => [...new Set(names)];

/** What the key list shows in place of a sign-in key's prefix; no pasted key's prefix looks like it. */
const SIGN_IN_KEY_PREFIX = 'sk-oauth-...';
const isUsable = (key: ApiKey, now = new Date()) => key.isActive && !isExpired(key, now);
const isSignInKey = (key: ApiKey) => key.prefix === SIGN_IN_KEY_PREFIX;

/** A new active key (a time-ordered id); second precision, as stored, so what create answers matches what list shows later. */
function newKey(userId: string, keyName: string, rawKey: string, prefix: string, expiresDays: number | null): ApiKey {
  const createdAt = new Date(Math.floor(Date.now() / 1000) * 1000);
  return {
    id: uuidV7(),
    userId,
    keyName,
    keyHash: hashApiKey(rawKey),
    prefix,
    isActive: true,
    expiresAt: expiresDays ? new Date(createdAt.getTime() + expiresDays * DAY_MS) : null,
    createdAt,
    updatedAt: createdAt,
  };
}

const isUnrestricted = (policy: KeyPolicy) =>
  policy.tools.length === 0 &&
  policy.tables.length === 0 &&
  [policy.callsPerMinute, policy.recordsPerDay, policy.recordsPerMonth, policy.callsPerDay].every((limit) => limit === null);

function found(key: ApiKey | undefined): ApiKey {
  if (!key) throw new NotFoundException('API key not found');
  return key;
}
