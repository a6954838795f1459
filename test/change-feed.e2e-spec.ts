import { sql, str } from '../src/clickhouse/sql.js';
import { pollUntil } from '../scripts/lib/poll.mjs';
import { rawClient } from './support/clickhouse.js';
import { grantAdmin } from './support/admin-cli.js';
import { createApiKey, rawRpc } from './support/mcp.js';
import { type LoggedInUser, type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';

const toolsList = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
/** The bound MCP_CHANGE_POLL_MS=1000 gives: a poll, plus the reads it makes. */
const BOUND_MS = 2000;

/** The lags measured, printed at the end (docs/scaling.md quotes them). */
const lags: Record<string, number> = {};

/** How long after `since` the key first gets 401 from `app` (asked every 50 ms). */
async function lagUntilRefused(what: string, app: TestApp, apiKey: string, since: number): Promise<number> {
  await pollUntil(async () => (await rawRpc(app, toolsList, apiKey)).status, (status) => status === 401, { timeoutMs: 15_000, intervalMs: 50 });
  lags[what] = Date.now() - since;
  return lags[what];
}

describe('Changes made elsewhere reach every instance within MCP_CHANGE_POLL_MS (e2e)', () => {
  let first: TestApp;
  let second: TestApp;
  let admin: LoggedInUser;
  const adminEmail = `feed-admin-${Date.now()}@example.com`;

  beforeAll(async () => {
    // A key cache that would trust a key for ten minutes: only the feed can make the second instance notice.
    const env = { MCP_KEY_CACHE_TTL_SECONDS: '600', MCP_CHANGE_POLL_MS: '1000', JWT_SECRET: 'change-feed-secret-long-enough-0123456789' };
    first = await startTestApp(env, { keepDatabase: true });
    second = await startTestApp({ ...env, CLICKHOUSE_DATABASE: first.database });
    admin = await registerAndLogin(first, adminEmail);
    await grantAdmin(first, adminEmail);
  });

  afterAll(async () => {
    console.log(`lag until the other instance refused (ms): ${JSON.stringify(lags)}`);
    await first?.stop();
    await second?.stop();
  });

  /** A user with a key the second instance has verified and cached. */
  async function cachedOnSecond() {
    const user = await registerAndLogin(first);
    const key = await createApiKey(first, user.jwt);
    await rawRpc(second, toolsList, key.api_key).expect(200);
    return { user, key };
  }

  it('should refuse on the other instance, within 2 s, a key revoked through one', async () => {
    const { user, key } = await cachedOnSecond();
    const revokedAt = Date.now();
    await first.rest.post('/api/mcp-keys/revoke').set('Authorization', `Bearer ${user.jwt}`).send({ key_id: key.key_id }).expect(200);
    expect(await lagUntilRefused('revoke', second, key.api_key, revokedAt)).toBeLessThanOrEqual(BOUND_MS);
  });

  it('should refuse, within 2 s, the keys of an account an administrator disabled on the other instance, and take them again once enabled', async () => {
    const { user, key } = await cachedOnSecond();
    const disabledAt = Date.now();
    await first.rest.post(`/api/admin/users/${user.id}/disable`).set('Authorization', `Bearer ${admin.jwt}`).expect(200);
    expect(await lagUntilRefused('disable', second, key.api_key, disabledAt)).toBeLessThanOrEqual(BOUND_MS);
    await first.rest.post(`/api/admin/users/${user.id}/enable`).set('Authorization', `Bearer ${admin.jwt}`).expect(200);
    await pollUntil(async () => (await rawRpc(second, toolsList, key.api_key)).status, (status) => status === 200, { timeoutMs: BOUND_MS, intervalMs: 50 });
    await rawRpc(second, toolsList, key.api_key).expect(200);
  });

  it('should apply, within 2 s, a policy changed on the other instance', async () => {
    const { user, key } = await cachedOnSecond();
    await first.rest.post('/api/mcp-keys/policy').set('Authorization', `Bearer ${user.jwt}`).send({ key_id: key.key_id, policy: { tools: ['search_stocks'] } }).expect(200);
    const listed = await pollUntil(
      async () => (await rawRpc(second, toolsList, key.api_key).expect(200)).body.result.tools.map((tool: { name: string }) => tool.name),
      (names: string[]) => names.length === 1,
      { timeoutMs: BOUND_MS, intervalMs: 50 },
    );
    expect(listed).toEqual(['search_stocks']);
  });

  it('should refuse, within 2 s, a key the original service revoked by writing its row', async () => {
    const { user, key } = await cachedOnSecond();
    const client = rawClient(first.database, first.clickhouseUrl);
    try {
      const revokedAt = Date.now();
      // What the original's revoke writes: the key's row again, is_active = 0, a later updated_at.
      await client.command({
        query: sql`INSERT INTO mcp_api_keys (id, user_id, key_name, api_key_hash, api_key_prefix, is_active, expires_at, created_at, updated_at)
          SELECT id, user_id, key_name, api_key_hash, api_key_prefix, 0, expires_at, created_at, now() + 1
          FROM mcp_api_keys FINAL WHERE id = ${str(key.key_id)} AND user_id = ${str(user.id)}`.text,
      });
      expect(await lagUntilRefused('original service revoke', second, key.api_key, revokedAt)).toBeLessThanOrEqual(BOUND_MS);
    } finally {
      await client.close();
    }
  });

  it('should not make new keys and accounts, which nobody changed, be looked up again', async () => {
    const { key } = await cachedOnSecond();
    const metrics = async () => (await second.rest.get('/metrics').set('Authorization', `Bearer ${admin.jwt}`).expect(200)).text;
    const misses = (text: string) => Number(/^mcp_key_cache_misses_total (\d+)/m.exec(text)?.[1] ?? 'NaN');
    const before = misses(await metrics());
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await rawRpc(second, toolsList, key.api_key).expect(200);
    expect(misses(await metrics())).toBe(before);
  });
});
