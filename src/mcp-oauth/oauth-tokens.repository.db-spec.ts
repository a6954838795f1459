import { type AdoptedServices, adoptedServices } from '../../test/support/services.js';
import { pollUntil } from '../../scripts/lib/poll.mjs';
import type { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import type { SchemaService } from '../clickhouse/schema/schema.service.js';
import { sql } from '../clickhouse/sql.js';
import { hashApiKey } from '../mcp-keys/api-key.js';
import { OAuthTokensRepository, type StoredOAuthToken } from './oauth-tokens.repository.js';

/** Captures the rows an insert would write. */
function repository() {
  const rows: Record<string, unknown>[] = [];
  const clickhouse = { insert: (_table: string, inserted: Record<string, unknown>[]) => Promise.resolve(void rows.push(...inserted)) } as unknown as ClickHouseService;
  const schema = { register: () => undefined } as unknown as SchemaService;
  return { tokens: new OAuthTokensRepository(clickhouse, schema), rows };
}

const stored = (ver: number): StoredOAuthToken => ({
  kind: 'refresh',
  clientId: 'client',
  userId: 'user',
  keyId: 'key',
  codeChallenge: '',
  redirectUri: '',
  audience: '',
  expiresAt: new Date('2027-01-01T00:00:00Z'),
  revoked: false,
  ver,
});

describe('OAuthTokensRepository.revoke', () => {
  it('should write a version later than the one read, even when that one came from a clock ahead of this one', async () => {
    const { tokens, rows } = repository();
    const ahead = (Date.now() + 3_600_000) * 1000;
    await tokens.revoke('hash', stored(ahead));
    expect(rows).toEqual([expect.objectContaining({ token_hash: 'hash', revoked: 1, ver: ahead + 1 })]);
  });

  it('should write the current time as the version for a token written in the past', async () => {
    const { tokens, rows } = repository();
    const before = Date.now() * 1000;
    await tokens.revoke('hash', stored(1_000), 'created-key');
    expect(rows[0]).toMatchObject({ revoked: 1, key_id: 'created-key' });
    expect(rows[0].ver as number).toBeGreaterThanOrEqual(before);
  });
});

describe('OAuthTokensRepository.pruneExpired (a real ClickHouse)', () => {
  let services: AdoptedServices;
  let tokens: OAuthTokensRepository;

  beforeAll(async () => {
    services = await adoptedServices('oauth_prune');
    tokens = new OAuthTokensRepository(services.clickhouse, services.schema);
    await services.schema.adoptAll();
  });

  afterAll(async () => {
    await services.close();
  });

  const token = (expiresAt: Date, kind: StoredOAuthToken['kind']): Omit<StoredOAuthToken, 'ver'> => ({ ...stored(0), kind, expiresAt });
  const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000);
  // Distinct tokens, not rows: a background merge may collapse a token's versions at any time.
  const kinds = async () =>
    (await services.clickhouse.query<{ kind: string; n: string }>(sql`SELECT kind, uniqExact(token_hash) AS n FROM mcp_oauth_tokens GROUP BY kind ORDER BY kind`)).map((row) => `${row.kind}:${row.n}`);

  it('should delete every version of codes and tokens expired over a day ago, and keep the rest', async () => {
    await tokens.save('long-expired-access', token(hoursAgo(30), 'access'));
    await tokens.save('long-expired-code', token(hoursAgo(48), 'code'));
    const revoked = token(hoursAgo(72), 'refresh');
    await tokens.save('long-expired-refresh', revoked);
    await tokens.revoke(hashApiKey('long-expired-refresh'), { ...revoked, ver: 1 });
    // Expired an hour ago (kept a day), and live ones.
    await tokens.save('recently-expired-access', token(hoursAgo(1), 'access'));
    await tokens.save('live-refresh', token(new Date(Date.now() + 86_400_000), 'refresh'));

    expect(await tokens.pruneExpired()).toBe(3);
    // ClickHouse runs the mutation in the background.
    expect(await pollUntil(kinds, (rows) => rows.length === 2, { timeoutMs: 10_000, intervalMs: 100 })).toEqual(['access:1', 'refresh:1']);
    expect(await tokens.pruneExpired()).toBe(0);
  });
});
