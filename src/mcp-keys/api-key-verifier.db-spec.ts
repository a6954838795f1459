import { randomUUID } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import { AuthService } from '../auth/auth.service.js';
import { LoginLockout } from '../auth/login-lockout.js';
import { PasswordHasher } from '../auth/password-hasher.js';
import type { User } from '../auth/user.js';
import { UsersRepository } from '../auth/users.repository.js';
import { EmailAllowList } from '../auth/email-allow-list.js';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { nextVersionTime } from '../clickhouse/datetime.js';
import { SchemaService } from '../clickhouse/schema/schema.service.js';
import { sql, str } from '../clickhouse/sql.js';
import { type AppConfig, loadAppConfig } from '../config/app-config.js';
import { ToolRegistry } from '../market-data/tool-registry.js';
import { MetricsRegistry } from '../metrics/metrics-registry.js';
import { dropDatabase, uniqueDatabaseName } from '../../test/support/clickhouse.js';
import { type AdoptedServices, adoptedServices } from '../../test/support/services.js';
import { apiKeyPrefix, generateApiKey, hashApiKey } from './api-key.js';
import { ApiKeyVerifier } from './api-key-verifier.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import { ApiKeyPoliciesRepository } from './api-key-policies.repository.js';
import { KeyCacheMetrics } from './key-cache.metrics.js';
import { UNRESTRICTED_POLICY } from './key-policy.js';
import { McpKeysService } from './mcp-keys.service.js';

const DAY_MS = 86_400_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe(ApiKeyVerifier.name, () => {
  let adopted: AdoptedServices;
  const services: ClickHouseService[] = [];
  let config: AppConfig;
  let users: UsersRepository;
  let keys: ApiKeysRepository;
  let auth: AuthService;
  let verifier: ApiKeyVerifier;
  let keyService: McpKeysService;

  /** A ClickHouseService closed after the suite; `env` overrides the test database's settings. */
  const configFor = (env: Record<string, string> = {}) => loadAppConfig({ CLICKHOUSE_URL: adopted.config.clickhouse.urls.join(','), CLICKHOUSE_DATABASE: adopted.database, ...env });
  const clickHouseFor = (appConfig: AppConfig) => {
    const service = new ClickHouseService(appConfig);
    services.push(service);
    return service;
  };
  /** A verifier with a cache of its own, as another instance of the gateway would have. */
  const newVerifier = async (appConfig = config, adopt = true) => {
    const clickhouse = clickHouseFor(appConfig);
    const schema = new SchemaService(clickhouse);
    const repository = new ApiKeysRepository(clickhouse, schema);
    const policies = new ApiKeyPoliciesRepository(clickhouse, schema);
    // The tables exist already: this adopts them as another instance would at start-up.
    if (adopt) await schema.adoptAll();
    return new ApiKeyVerifier(repository, policies, auth, appConfig, new KeyCacheMetrics(new MetricsRegistry()), clickhouse);
  };

  beforeAll(async () => {
    adopted = await adoptedServices('verifier');
    config = adopted.config;
    const clickhouse = adopted.clickhouse;
    users = adopted.users;
    keys = adopted.keys;
    const allowList = new EmailAllowList(clickhouse, config, adopted.schema);
    auth = new AuthService(users, new PasswordHasher(config), new JwtService({ secret: 'verifier-spec-secret' }), new LoginLockout(config), allowList, config);
    verifier = new ApiKeyVerifier(keys, adopted.policies, auth, config, new KeyCacheMetrics(new MetricsRegistry()), clickhouse);
    keyService = new McpKeysService(keys, adopted.policies, verifier, new ToolRegistry(config), config);
  });

  afterAll(async () => {
    await Promise.all(services.map((service) => service.onApplicationShutdown()));
    await adopted.close();
  });

  async function createUser(isActive = true): Promise<User> {
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const id = randomUUID();
    const user: User = { id, email: `${id}@example.com`, username: id, passwordHash: 'unused', isActive, isAdmin: false, subscriptionTier: 'free', createdAt: now, updatedAt: now };
    await users.save(user);
    return user;
  }

  async function createKey(userId: string, expiresDays?: number) {
    const created = await keyService.create({ id: userId, isAdmin: false }, { key_name: 'spec', expires_days: expiresDays });
    return { rawKey: created.api_key, keyId: created.key_id, expiresAt: created.expires_at === null ? null : new Date(created.expires_at) };
  }

  /** Stores a key row for `rawKey` straight through the repository, bypassing every cache. */
  async function storeKey(rawKey: string, userId: string, changes: { isActive?: boolean } = {}) {
    const keyId = randomUUID();
    await keys.save({
      id: keyId,
      userId,
      keyName: 'stored',
      keyHash: hashApiKey(rawKey),
      prefix: apiKeyPrefix(rawKey),
      isActive: changes.isActive ?? true,
      expiresAt: null,
      createdAt: new Date(Math.floor(Date.now() / 1000) * 1000),
      updatedAt: new Date(Math.floor(Date.now() / 1000) * 1000),
    });
    return keyId;
  }

  it('should verify a valid key to its owner', async () => {
    const user = await createUser();
    const { rawKey, keyId } = await createKey(user.id);

    expect(await verifier.verify(rawKey)).toEqual({ keyId, userId: user.id, expiresAt: null, policy: UNRESTRICTED_POLICY });
  });

  it('should serve a second verify from the cache, even after the row changed in ClickHouse, until evicted', async () => {
    const user = await createUser();
    const { rawKey, keyId } = await createKey(user.id);
    expect(await verifier.verify(rawKey)).toEqual({ keyId, userId: user.id, expiresAt: null, policy: UNRESTRICTED_POLICY });

    // Another instance revokes the key: this instance's cache is not told.
    const stored = await keys.findOwned(user.id, keyId);
    await keys.save({ ...stored!, isActive: false, updatedAt: nextVersionTime(stored!.updatedAt) });

    expect(await (await newVerifier()).verify(rawKey)).toBeUndefined();
    expect(await verifier.verify(rawKey)).toEqual({ keyId, userId: user.id, expiresAt: null, policy: UNRESTRICTED_POLICY });

    verifier.evict(hashApiKey(rawKey));
    expect(await verifier.verify(rawKey)).toBeUndefined();
  });

  it('should look the key up again once the cache TTL has passed', async () => {
    const shortLived = await newVerifier(configFor({ MCP_KEY_CACHE_TTL_SECONDS: '2' }));
    const user = await createUser();
    const { rawKey, keyId } = await createKey(user.id);
    expect(await shortLived.verify(rawKey)).toEqual({ keyId, userId: user.id, expiresAt: null, policy: UNRESTRICTED_POLICY });

    const stored = await keys.findOwned(user.id, keyId);
    await keys.save({ ...stored!, isActive: false, updatedAt: nextVersionTime(stored!.updatedAt) });
    expect(await shortLived.verify(rawKey)).toEqual({ keyId, userId: user.id, expiresAt: null, policy: UNRESTRICTED_POLICY });

    await sleep(2_100);
    // Out of the cache, yet remembered as recently valid (the guard lets such keys past an address throttle).
    expect([shortLived.cached(rawKey), shortLived.wasRecentlyValid(rawKey), shortLived.wasRecentlyValid(generateApiKey())]).toEqual([undefined, true, false]);
    expect(await shortLived.verify(rawKey)).toBeUndefined();
  });

  it("should find keys in a keys table with another service's column types, and not break that service's inserts", async () => {
    const database = uniqueDatabaseName('verifier_types');
    const clickhouse = clickHouseFor(configFor({ CLICKHOUSE_DATABASE: database }));
    await clickhouse.ensureDatabase();
    await clickhouse.command(sql`CREATE TABLE mcp_api_keys (id String, user_id String, key_name String, api_key_hash String, api_key_prefix String,
      is_active Int8, last_used_at Nullable(DateTime), expires_at Nullable(DateTime('Asia/Shanghai')), created_at DateTime, updated_at DateTime)
      ENGINE = ReplacingMergeTree(updated_at) ORDER BY (user_id, id)`);
    const schema = new SchemaService(clickhouse);
    const repository = new ApiKeysRepository(clickhouse, schema);
    await schema.adoptAll();

    const rawKey = generateApiKey();
    // As the other service writes a key: its own column set, Int8 is_active.
    await clickhouse.command(sql`INSERT INTO mcp_api_keys (id, user_id, key_name, api_key_hash, api_key_prefix, is_active, created_at, updated_at)
      VALUES ('k-int8', 'u-int8', 'theirs', ${str(hashApiKey(rawKey))}, ${str(apiKeyPrefix(rawKey))}, 1, now(), now())`);

    expect(await repository.findByHash(hashApiKey(rawKey))).toEqual({ id: 'k-int8', userId: 'u-int8', isActive: true, expiresAt: null });
    await dropDatabase(database);
  });

  it('should keep a valid key cached while a flood of unknown keys passes through', async () => {
    const small = await newVerifier(configFor({ MCP_KEY_CACHE_MAX_ENTRIES: '2' }));
    const user = await createUser();
    const { rawKey, keyId } = await createKey(user.id);
    expect(await small.verify(rawKey)).toEqual({ keyId, userId: user.id, expiresAt: null, policy: UNRESTRICTED_POLICY });

    for (let i = 0; i < 5; i++) expect(await small.verify(generateApiKey())).toBeUndefined();
    const stored = await keys.findOwned(user.id, keyId);
    await keys.save({ ...stored!, isActive: false, updatedAt: nextVersionTime(stored!.updatedAt) });

    // Still the cached verdict: the unknown keys did not push the valid one out.
    expect(await small.verify(rawKey)).toEqual({ keyId, userId: user.id, expiresAt: null, policy: UNRESTRICTED_POLICY });
  });

  it('should count a miss for each lookup and a hit for each verdict the cache served', async () => {
    const metrics = new KeyCacheMetrics(new MetricsRegistry());
    const counted = new ApiKeyVerifier(keys, adopted.policies, auth, config, metrics, adopted.clickhouse);
    const counts = async () => [(await metrics.hits.get()).values[0].value, (await metrics.misses.get()).values[0].value];
    const user = await createUser();
    const { rawKey } = await createKey(user.id);
    const stranger = generateApiKey();

    expect([await counted.verify(rawKey), await counted.verify(stranger)].map(Boolean)).toEqual([true, false]);
    expect(await counts()).toEqual([0, 2]);
    // Served from the cache: the valid verdict through cached() and verify(), the unknown one through verify().
    expect([counted.cached(rawKey), await counted.verify(rawKey), await counted.verify(stranger)].map(Boolean)).toEqual([true, true, false]);
    // isCached() is the throttle's look before the request's own check, and malformed keys never reach a cache.
    expect([counted.isCached(rawKey), counted.cached('sk-short'), await counted.verify('sk-short')].map(Boolean)).toEqual([true, false, false]);
    expect(await counts()).toEqual([3, 2]);
  });

  it('should answer concurrent misses alike and hand each caller its own copy', async () => {
    const user = await createUser();
    const { rawKey, keyId } = await createKey(user.id);
    const fresh = await newVerifier();
    const [first, second] = await Promise.all([fresh.verify(rawKey), fresh.verify(rawKey)]);
    expect(first).toEqual({ keyId, userId: user.id, expiresAt: null, policy: UNRESTRICTED_POLICY });
    expect(second).toEqual(first);

    first!.userId = 'tampered';
    expect((await fresh.verify(rawKey))?.userId).toBe(user.id);
  });

  it('should refuse a key revoked in this process on the very next verify', async () => {
    const user = await createUser();
    const { rawKey, keyId } = await createKey(user.id);
    expect(await verifier.verify(rawKey)).toEqual({ keyId, userId: user.id, expiresAt: null, policy: UNRESTRICTED_POLICY });

    await keyService.revoke(user.id, keyId);

    expect(await verifier.verify(rawKey)).toBeUndefined();
  });

  it("should drop only that user's cached verdicts when their account changes", async () => {
    const owner = await createUser();
    const other = await createUser();
    const owners = await createKey(owner.id);
    const others = await createKey(other.id);
    expect(await verifier.verify(owners.rawKey)).toEqual({ keyId: owners.keyId, userId: owner.id, expiresAt: null, policy: UNRESTRICTED_POLICY });
    expect(await verifier.verify(others.rawKey)).toEqual({ keyId: others.keyId, userId: other.id, expiresAt: null, policy: UNRESTRICTED_POLICY });
    // Both accounts are disabled in ClickHouse; only the evicted one's key is looked up again.
    await users.save({ ...owner, isActive: false, updatedAt: nextVersionTime(owner.updatedAt) });
    await users.save({ ...other, isActive: false, updatedAt: nextVersionTime(other.updatedAt) });
    verifier.forgetChanges({ userIds: new Set([owner.id]) });
    expect(await verifier.verify(owners.rawKey)).toBeUndefined();
    expect(await verifier.verify(others.rawKey)).toEqual({ keyId: others.keyId, userId: other.id, expiresAt: null, policy: UNRESTRICTED_POLICY });
    // Enabled again: the refusal cached while disabled goes with the change, and only that one.
    await users.save({ ...owner, isActive: true, updatedAt: nextVersionTime(nextVersionTime(owner.updatedAt)) });
    verifier.forgetChanges({ userIds: new Set([owner.id]) });
    expect(await verifier.verify(owners.rawKey)).toEqual({ keyId: owners.keyId, userId: owner.id, expiresAt: null, policy: UNRESTRICTED_POLICY });
  });

  it("should not cache a lookup that was under way when the owner's account changed", async () => {
    const user = await createUser();
    const { rawKey, keyId } = await createKey(user.id);
    const fresh = await newVerifier();
    const underWay = fresh.verify(rawKey);
    fresh.forgetChanges({ userIds: new Set([user.id]) });
    // It read the account before the change, so it answers as it found it...
    expect(await underWay).toEqual({ keyId, userId: user.id, expiresAt: null, policy: UNRESTRICTED_POLICY });
    await users.save({ ...user, isActive: false, updatedAt: nextVersionTime(user.updatedAt) });
    // ...but its verdict was not kept: the next verify asks ClickHouse and sees the disabled account.
    expect(await fresh.verify(rawKey)).toBeUndefined();
  });

  it("should cache a lookup that was under way when other accounts' keys, policies or accounts changed, or its own key's row newly arrived", async () => {
    const user = await createUser();
    const { rawKey, keyId } = await createKey(user.id);
    const stranger = generateApiKey();
    const metrics = new KeyCacheMetrics(new MetricsRegistry());
    const fresh = new ApiKeyVerifier(keys, adopted.policies, auth, config, metrics, adopted.clickhouse);
    const underWay = [fresh.verify(rawKey), fresh.verify(stranger)];
    // What the change feed brings at every poll for a minute after anyone's change, and after this key was made.
    fresh.forgetChanges({ keyHashes: [hashApiKey(generateApiKey())], newKeyHashes: [hashApiKey(rawKey), hashApiKey(generateApiKey())], keyIds: new Set([randomUUID()]), userIds: new Set([randomUUID()]) });
    expect(await Promise.all(underWay)).toEqual([{ keyId, userId: user.id, expiresAt: null, policy: UNRESTRICTED_POLICY }, undefined]);

    expect([await fresh.verify(rawKey), await fresh.verify(stranger)].map(Boolean)).toEqual([true, false]);
    expect([(await metrics.hits.get()).values[0].value, (await metrics.misses.get()).values[0].value]).toEqual([2, 2]);
  });

  it("should not cache a lookup that was under way when the key's own row or policy changed, or when an unknown key's row arrived", async () => {
    const user = await createUser();
    const { rawKey, keyId } = await createKey(user.id);
    const stranger = generateApiKey();
    for (const changes of [{ keyIds: new Set([keyId]) }, { newKeyHashes: [hashApiKey(stranger)] }]) {
      const metrics = new KeyCacheMetrics(new MetricsRegistry());
      const fresh = new ApiKeyVerifier(keys, adopted.policies, auth, config, metrics, adopted.clickhouse);
      const underWay = [fresh.verify(rawKey), fresh.verify(stranger)];
      fresh.forgetChanges(changes);
      await Promise.all(underWay);
      await fresh.verify(rawKey);
      await fresh.verify(stranger);
      // Only the lookup the change touched is asked again.
      expect((await metrics.misses.get()).values[0].value).toBe(3);
    }
  });

  it('should not keep the refusal of a self-contained token, so one not valid yet passes once it is, and keep its valid verdict', async () => {
    const fresh = await newVerifier();
    const validFrom = Date.now() + 60_000;
    const owner = { keyId: 'jwt-self-contained', userId: 'buyer', expiresAt: null, policy: UNRESTRICTED_POLICY };
    let checks = 0;
    fresh.acceptSelfContainedTokens({
      isWellFormed: (candidate) => candidate === 'header.claims.signature',
      verify: (_candidate, now) => {
        checks++;
        return now.getTime() >= validFrom ? owner : undefined;
      },
    });
    expect(await fresh.verify('header.claims.signature', new Date(validFrom - 1000))).toBeUndefined();
    expect(await fresh.verify('header.claims.signature', new Date(validFrom))).toEqual(owner);
    expect(await fresh.verify('header.claims.signature', new Date(validFrom + 1000))).toEqual(owner);
    expect(checks).toBe(2);
  });

  it('should refuse an expired key on the very next verify although its verdict is cached', async () => {
    const user = await createUser();
    const { rawKey, keyId, expiresAt } = await createKey(user.id, 1);
    expect(expiresAt).not.toBeNull();
    const lastValidMoment = new Date(expiresAt!.getTime() - 1);
    expect(await verifier.verify(rawKey, lastValidMoment)).toEqual({ keyId, userId: user.id, expiresAt, policy: UNRESTRICTED_POLICY });

    expect(await verifier.verify(rawKey, expiresAt!)).toBeUndefined();
    expect(await verifier.verify(rawKey, new Date(expiresAt!.getTime() + DAY_MS))).toBeUndefined();
    // The cached verdict itself is unchanged: only the clock decides.
    expect(await verifier.verify(rawKey, lastValidMoment)).toEqual({ keyId, userId: user.id, expiresAt, policy: UNRESTRICTED_POLICY });
  });

  it('should refuse an unknown well-formed key and cache that verdict', async () => {
    const user = await createUser();
    const rawKey = generateApiKey();
    expect(await verifier.verify(rawKey)).toBeUndefined();

    const keyId = await storeKey(rawKey, user.id);

    expect(await (await newVerifier()).verify(rawKey)).toEqual({ keyId, userId: user.id, expiresAt: null, policy: UNRESTRICTED_POLICY });
    expect(await verifier.verify(rawKey)).toBeUndefined();
  });

  it.each([
    ['an empty string', ''],
    ['a key one character short', `sk-${'a'.repeat(63)}`],
    ['a key one character long', `sk-${'a'.repeat(65)}`],
    ['upper-case hex', `sk-${'A'.repeat(64)}`],
    ['a wrong prefix', `pk-${'a'.repeat(64)}`],
    ['a trailing newline', `sk-${'a'.repeat(64)}\n`],
    ['a Bearer prefix', `Bearer sk-${'a'.repeat(64)}`],
  ])('should refuse a malformed key (%s) without a lookup', async (_case, candidate) => {
    // Every lookup through this verifier fails, so a refusal without an error means none was made.
    const unreachable = await newVerifier(configFor({ CLICKHOUSE_DATABASE: uniqueDatabaseName('missing') }), false);
    await expect(unreachable.verify(generateApiKey())).rejects.toThrow(/Database \S+ (doesn't|does not) exist/);

    expect(await unreachable.verify(candidate)).toBeUndefined();
  });

  it('should refuse a malformed key even when a valid row carries its hash', async () => {
    const user = await createUser();
    const malformed = `sk-${'B'.repeat(64)}`;
    await storeKey(malformed, user.id);

    expect(await verifier.verify(malformed)).toBeUndefined();
  });

  it('should refuse the key of a deactivated user', async () => {
    const user = await createUser();
    const { rawKey } = await createKey(user.id);
    await users.save({ ...user, isActive: false, updatedAt: nextVersionTime(user.updatedAt) });

    expect(await verifier.verify(rawKey)).toBeUndefined();
  });

  it('should refuse a key whose owner does not exist', async () => {
    const rawKey = generateApiKey();
    await storeKey(rawKey, randomUUID());

    expect(await verifier.verify(rawKey)).toBeUndefined();
  });

  it('should refuse a key stored as inactive', async () => {
    const user = await createUser();
    const rawKey = generateApiKey();
    await storeKey(rawKey, user.id, { isActive: false });

    expect(await verifier.verify(rawKey)).toBeUndefined();
  });
});
