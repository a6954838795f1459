import type { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import type { SchemaService } from '../clickhouse/schema/schema.service.js';
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
