import { randomUUID } from 'node:crypto';
import { grantAdmin, runAdminCli } from './support/admin-cli.js';
import { queryRows, rawClient } from './support/clickhouse.js';
import { createApiKey } from './support/mcp.js';
import { type LoggedInUser, type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';

/**
 * Review of issue #20 ("Trust, round 2"): ways around the merged fixes, found against a running
 * production instance. Each test asserts the behaviour the fix promises and is marked `it.failing`
 * while the hole is open: it passes as long as the attack works, and fails (turns red) the moment
 * the hole is closed, so whoever fixes it flips `it.failing` to `it`.
 */

const TAKEN = { statusCode: 409, detail: 'Email already registered' };
const PASSWORD = 'correct horse battery';

describe('Review of trust round 2 (e2e)', () => {
  let app: TestApp;
  let admin: LoggedInUser;
  /** A bcrypt hash of PASSWORD, as the original service would have stored it. */
  let passwordHash: string;

  const as = (user: Pick<LoggedInUser, 'jwt'>) => ({ Authorization: `Bearer ${user.jwt}` });
  const register = (email: string, password = PASSWORD) => app.rest.post('/api/auth/register').send({ email, password });

  /**
   * An account the original service created in the shared `users` table. Its register keeps the
   * case of the local part as typed (pydantic's EmailStr lower-cases the domain only).
   */
  async function insertOriginalAccount(email: string, active = true): Promise<string> {
    const id = randomUUID();
    const client = rawClient(app.database);
    try {
      await client.insert({
        table: 'users',
        values: [{ id, email, username: email.split('@')[0], password_hash: passwordHash, is_active: active ? 1 : 0, is_admin: 0 }],
        format: 'JSONEachRow',
      });
    } finally {
      await client.close();
    }
    return id;
  }

  beforeAll(async () => {
    app = await startTestApp({ NODE_ENV: 'production', DEMO_DATA: 'false', AUTH_RATE_LIMIT: '1000' });
    admin = await registerAndLogin(app, `review-admin-${Date.now()}@example.com`);
    await grantAdmin(app, admin.email);
    const client = rawClient(app.database);
    try {
      [{ password_hash: passwordHash }] = await queryRows<{ password_hash: string }>(client, `SELECT password_hash FROM users FINAL WHERE id = '${admin.id}'`);
    } finally {
      await client.close();
    }
  });

  afterAll(async () => {
    await app.stop();
  });

  describe("an administrator's ceiling on a user's new keys", () => {
    // An owner's own policy change writes a new row carrying that key's ceiling: the newest row is not the newest ceiling.
    it('should not be shed by the owner touching a key whose older ceiling is looser', async () => {
      const user = await registerAndLogin(app);
      const older = await createApiKey(app, user.jwt, { key_name: 'older' });
      const limited = await createApiKey(app, user.jwt, { key_name: 'limited' });
      await app.rest.put(`/api/admin/keys/${older.key_id}/policy`).set(as(admin)).send({ calls_per_minute: 1000 }).expect(200);
      await app.rest.put(`/api/admin/keys/${limited.key_id}/policy`).set(as(admin)).send({ tables: ['ods_daily'] }).expect(200);
      expect((await createApiKey(app, user.jwt)).policy.tables).toEqual(['ods_daily']);

      // The owner lowers the older key's limit, which an owner may do: its row is now the newest.
      await app.rest.post('/api/mcp-keys/policy').set(as(user)).send({ key_id: older.key_id, policy: { calls_per_minute: 999 } }).expect(200);

      const next = await createApiKey(app, user.jwt, { key_name: 'after' });
      expect(next.policy).toEqual({ tools: [], tables: ['ods_daily'], calls_per_minute: null, records_per_day: null, records_per_month: null, calls_per_day: null });
    });
  });

  describe("accounts the original service created (emails stored as typed)", () => {
    // UsersRepository.findByEmail compares `email = <normalized>` exactly; rows it did not write are not normalized.
    it.failing("should refuse to register the lower-cased form of a disabled account's email", async () => {
      await insertOriginalAccount('Bob@corp.example', false);
      const response = await register('bob@corp.example', 'attacker password');
      expect({ status: response.status, body: response.body }).toEqual({ status: 409, body: TAKEN }); // today: 201, a new active account
    });

    it.failing('should let such an account log in with the address as its owner types it', async () => {
      await insertOriginalAccount('Carol@corp.example');
      const response = await app.rest.post('/api/auth/login').send({ email: 'Carol@corp.example', password: PASSWORD });
      expect(response.status).toBe(200); // today: 401, the login normalizes to carol@… and finds nothing
    });

    it.failing("should never make a stranger's look-alike account the administrator an operator grants by that email", async () => {
      const original = await insertOriginalAccount('Erin@corp.example');
      // The stranger registers the lower-cased address (201 today; 409 once finding above is fixed).
      const stranger = await register('erin@corp.example', 'attacker password');

      const cli = await runAdminCli(app, ['grant', 'Erin@corp.example']);

      expect(cli.stdout).toContain(`(id ${original}`); // today: the stranger's id is granted
      if (stranger.status === 201) {
        const login = await app.rest.post('/api/auth/login').send({ email: 'erin@corp.example', password: 'attacker password' }).expect(200);
        await app.rest.get('/api/admin/users').set(as({ jwt: login.body.access_token })).expect(403);
      }
    });
  });

  describe('look-alike emails', () => {
    // Combining marks are Script=Inherited, which emailLookAlikeProblem lets mix with any script;
    // i + U+0307 (combining dot above) has no precomposed form, so NFKC keeps it: "ali̇ce" reads as "alice".
    it.failing('should refuse a combining mark that only hides on its letter', async () => {
      await register('alice@example.com').expect(201);
      const response = await register('ali\u0307ce@example.com');
      expect(response.status).toBe(400); // today: 201, a second "alice@example.com" in the admin's user list
    });

    // One script throughout, so the mixing rule passes it: ɑ (U+0251), ɡ (U+0261) and ı (U+0131) are Latin letters.
    it.failing('should refuse a Latin letter that reads as another one', async () => {
      await register('boss@example.com').expect(201);
      const responses = await Promise.all(['boss@exɑmple.com', 'boss@ɡmail.com', 'alıce@example.com'].map(async (email) => (await register(email)).status));
      expect(responses).toEqual([400, 400, 400]); // today: [201, 201, 201]
    });

    it.failing('should treat an internationalized domain and its punycode form as one address', async () => {
      await register('u@bücher.example').expect(201);
      const response = await register('u@xn--bcher-kva.example');
      expect({ status: response.status, body: response.body }).toEqual({ status: 409, body: TAKEN }); // today: 201
    });
  });
});
