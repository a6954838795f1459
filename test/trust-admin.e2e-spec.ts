import { randomUUID } from 'node:crypto';
import { grantAdmin, runAdminCli, runWithAppEnv } from './support/admin-cli.js';
import { queryRows, rawClient } from './support/clickhouse.js';
import { createApiKey, rawRpc } from './support/mcp.js';
import { type LoggedInUser, type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';

/**
 * Issue #20, finding 1: nobody becomes an administrator through the public API (ADMIN_EMAILS and
 * AUTH_ADMIN_EMAILS grant nothing), admin rights come from an operator (an administrator's route
 * or `npm run admin` on the server), a disabled account stays disabled (its email cannot be
 * registered again), and addresses that only look like another are refused or folded into it.
 */

const TOOLS_LIST = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
const LISTED_ADMIN = 'boss@example.com';
const ALSO_LISTED_ADMIN = 'chief@example.com';
const TAKEN = { statusCode: 409, detail: 'Email already registered' };

interface AuditRow {
  admin_user_id: string;
  admin_email: string;
  action: string;
  target_id: string;
  details: string;
}

describe('Trust: admin rights, disabled accounts and look-alike emails (e2e)', () => {
  let app: TestApp;
  let admin: LoggedInUser;

  const as = (user: LoggedInUser) => ({ Authorization: `Bearer ${user.jwt}` });
  const register = (email: string, password = 'another password 1') => app.rest.post('/api/auth/register').send({ email, password });

  async function auditRows(targetId: string): Promise<AuditRow[]> {
    const client = rawClient(app.database);
    try {
      return await queryRows<AuditRow>(client, `SELECT admin_user_id, admin_email, action, target_id, details FROM admin_audit_log WHERE target_id = '${targetId}' ORDER BY created_at, id`);
    } finally {
      await client.close();
    }
  }

  /** The account's current row; `changed` when it is a later version than the first (older ones may be merged away). */
  async function storedRow(userId: string): Promise<{ is_active: number; is_admin: number; changed: number }[]> {
    const client = rawClient(app.database);
    try {
      return await queryRows(client, `SELECT is_active, is_admin, updated_at > created_at AS changed FROM users FINAL WHERE id = '${userId}'`);
    } finally {
      await client.close();
    }
  }

  beforeAll(async () => {
    app = await startTestApp({ ADMIN_EMAILS: LISTED_ADMIN, AUTH_ADMIN_EMAILS: ALSO_LISTED_ADMIN, DEMO_DATA: 'false', AUTH_RATE_LIMIT: '1000' });
    admin = await registerAndLogin(app, `trust-admin-${Date.now()}@example.com`);
    await grantAdmin(app, admin.email);
  });

  afterAll(async () => {
    await app.stop();
  });

  describe('ADMIN_EMAILS and AUTH_ADMIN_EMAILS', () => {
    it('should warn once at start-up that they are ignored, naming the command that grants admin rights', async () => {
      const [line, ...more] = await app.waitForOutput(/are no longer made administrators/);
      expect(more).toEqual([]);
      expect(JSON.parse(line)).toMatchObject({
        level: 40,
        variables: ['AUTH_ADMIN_EMAILS', 'ADMIN_EMAILS'],
        msg: 'AUTH_ADMIN_EMAILS and ADMIN_EMAILS ignored: listed emails are no longer made administrators; grant admin rights with `npm run admin -- grant <email>` on the server',
      });
    });

    it.each([LISTED_ADMIN, ALSO_LISTED_ADMIN])('should make no administrator of someone registering %s', async (email) => {
      const registered = await register(email).expect(201);
      expect(registered.body.user).toMatchObject({ email, is_admin: false, subscription_tier: 'free' });
      const user = await logIn(email);
      expect((await app.rest.get('/api/auth/me').set(as(user)).expect(200)).body).toMatchObject({ email, is_admin: false, subscription_tier: 'free' });
      expect((await app.rest.get('/api/admin/users').set(as(user)).expect(403)).body).toEqual({ statusCode: 403, detail: 'Administrators only' });
    });

    async function logIn(email: string): Promise<LoggedInUser> {
      const login = await app.rest.post('/api/auth/login').send({ email, password: 'another password 1' }).expect(200);
      const me = await app.rest.get('/api/auth/me').set('Authorization', `Bearer ${login.body.access_token}`).expect(200);
      return { id: me.body.id, email, password: 'another password 1', jwt: login.body.access_token };
    }
  });

  describe('a disabled account', () => {
    it('should stay disabled: its email cannot be registered again, its login is 403 and its key 401', async () => {
      const victim = await registerAndLogin(app);
      const key = await createApiKey(app, victim.jwt, { key_name: 'before-disable' });
      await rawRpc(app, TOOLS_LIST, key.api_key).expect(200);
      await app.rest.post(`/api/admin/users/${victim.id}/disable`).set(as(admin)).expect(200);

      // The same email, with a password of the registrant's choosing: refused as any taken email is.
      expect((await register(victim.email, 'a brand new password').expect(409)).body).toEqual(TAKEN);
      expect((await register(victim.email.toUpperCase(), 'a brand new password').expect(409)).body).toEqual(TAKEN);
      expect((await app.rest.post('/api/auth/login').send({ email: victim.email, password: victim.password }).expect(403)).body.detail).toBe('This account is disabled');
      expect((await app.rest.post('/api/auth/login').send({ email: victim.email, password: 'a brand new password' }).expect(401)).body.detail).toBe('Incorrect email or password');
      expect((await app.rest.get('/api/auth/me').set(as(victim)).expect(401)).body.detail).toBe('User not found or disabled');
      expect((await rawRpc(app, TOOLS_LIST, key.api_key).expect(401)).body.error.message).toBe('Invalid or expired API key');

      const client = rawClient(app.database);
      const accounts = await queryRows<{ id: string; is_active: number }>(client, `SELECT id, is_active FROM users FINAL WHERE email = '${victim.email}'`);
      await client.close();
      expect(accounts).toEqual([{ id: victim.id, is_active: 0 }]);
    });
  });

  describe('admin rights through the REST API', () => {
    it('should grant and revoke them, from the next request on, audited with the previous value', async () => {
      const deputy = await registerAndLogin(app);
      await app.rest.get('/api/admin/users').set(as(deputy)).expect(403);

      const granted = await app.rest.post(`/api/admin/users/${deputy.id}/admin`).set(as(admin)).expect(200);
      expect(granted.body).toMatchObject({ id: deputy.id, email: deputy.email, is_admin: true, is_active: true });
      expect((await app.rest.get('/api/auth/me').set(as(deputy)).expect(200)).body.is_admin).toBe(true);
      await app.rest.get('/api/admin/users').set(as(deputy)).expect(200);

      const revoked = await app.rest.delete(`/api/admin/users/${deputy.id}/admin`).set(as(admin)).expect(200);
      expect(revoked.body).toMatchObject({ id: deputy.id, is_admin: false });
      expect((await app.rest.get('/api/admin/users').set(as(deputy)).expect(403)).body.detail).toBe('Administrators only');

      expect(await storedRow(deputy.id)).toEqual([{ is_active: 1, is_admin: 0, changed: 1 }]);
      const by = { admin_user_id: admin.id, admin_email: admin.email, target_id: deputy.id };
      expect((await auditRows(deputy.id)).map((row) => ({ ...row, details: JSON.parse(row.details) }))).toEqual([
        { ...by, action: 'user.grant_admin', details: { email: deputy.email, was_admin: false } },
        { ...by, action: 'user.revoke_admin', details: { email: deputy.email, was_admin: true } },
      ]);
    });

    it("should not let an administrator revoke their own rights, and answer 404 for an unknown user", async () => {
      const self = await app.rest.delete(`/api/admin/users/${admin.id}/admin`).set(as(admin)).expect(409);
      expect(self.body).toEqual({ statusCode: 409, detail: 'You cannot revoke your own admin rights; ask another administrator' });
      await app.rest.get('/api/admin/users').set(as(admin)).expect(200);
      expect((await app.rest.post(`/api/admin/users/${randomUUID()}/admin`).set(as(admin)).expect(404)).body).toEqual({ statusCode: 404, detail: 'User not found' });
      await app.rest.delete(`/api/admin/users/${randomUUID()}/admin`).set(as(admin)).expect(404);
    });
  });

  describe('npm run admin', () => {
    it('should grant admin rights through the package script, writing a new row version and an audit row by "cli"', async () => {
      const operatorPick = await registerAndLogin(app);
      const granted = await runWithAppEnv(app, 'npm', ['run', '--silent', 'admin', '--', 'grant', operatorPick.email.toUpperCase()]);
      expect(granted).toEqual({ code: 0, stdout: `${operatorPick.email} (id ${operatorPick.id}) is now an administrator\n`, stderr: '' });
      await app.rest.get('/api/admin/users').set(as(operatorPick)).expect(200);
      expect(await storedRow(operatorPick.id)).toEqual([{ is_active: 1, is_admin: 1, changed: 1 }]);
      expect(await auditRows(operatorPick.id)).toEqual([
        { admin_user_id: 'cli', admin_email: '', action: 'user.grant_admin', target_id: operatorPick.id, details: JSON.stringify({ email: operatorPick.email, was_admin: false }) },
      ]);

      const listed = await runAdminCli(app, ['list']);
      expect(listed).toEqual({ code: 0, stdout: `${admin.email} (id ${admin.id})\n${operatorPick.email} (id ${operatorPick.id})\n`, stderr: '' });

      const revoked = await runAdminCli(app, ['revoke', operatorPick.email]);
      expect(revoked).toEqual({ code: 0, stdout: `${operatorPick.email} (id ${operatorPick.id}) is no longer an administrator\n`, stderr: '' });
      await app.rest.get('/api/admin/users').set(as(operatorPick)).expect(403);
      expect(await runAdminCli(app, ['revoke', operatorPick.email])).toEqual({ code: 0, stdout: `${operatorPick.email} (id ${operatorPick.id}) was not an administrator; nothing changed\n`, stderr: '' });
    });

    it('should exit non-zero, changing nothing, for an unknown email or a wrong command', async () => {
      const before = await runAdminCli(app, ['list']);
      expect(await runAdminCli(app, ['grant', 'nobody@example.com'])).toEqual({ code: 1, stdout: '', stderr: 'No account has the email "nobody@example.com"; nothing changed\n' });
      const usage = 'usage: npm run admin -- grant <email> | revoke <email> | list\n';
      expect(await runAdminCli(app, [])).toEqual({ code: 64, stdout: '', stderr: usage });
      expect(await runAdminCli(app, ['promote', admin.email])).toEqual({ code: 64, stdout: '', stderr: usage });
      expect(await runAdminCli(app, ['grant'])).toEqual({ code: 64, stdout: '', stderr: usage });
      expect(await runAdminCli(app, ['list'])).toEqual(before);
    });
  });

  describe('look-alike emails at registration', () => {
    const original = 'lookalike-admin@example.com';

    beforeAll(async () => {
      await register(original).expect(201);
    });

    it.each([
      ['the full-width a', 'ｌookalike-admin@example.com'],
      ['full-width letters, @ and dot throughout', 'ＬＯＯＫＡＬＩＫＥ－ＡＤＭＩＮ＠ＥＸＡＭＰＬＥ．ＣＯＭ'],
      ['upper case', 'LOOKALIKE-ADMIN@EXAMPLE.COM'],
    ])('should fold %s into the existing address: 409', async (_case, email) => {
      expect((await register(email).expect(409)).body).toEqual(TAKEN);
    });

    it.each([
      ['a zero-width space', 'lookalike-ad\u200bmin@example.com', 'email must not contain invisible, control or whitespace characters'],
      ['a zero-width joiner in the domain', 'lookalike-admin@exam\u200dple.com', 'email must not contain invisible, control or whitespace characters'],
      ['a soft hyphen', 'lookalike-ad\u00admin@example.com', 'email must not contain invisible, control or whitespace characters'],
      ['a right-to-left override', 'lookalike-\u202eadmin@example.com', 'email must not contain invisible, control or whitespace characters'],
      ['a Cyrillic a in the local part', 'lookalike-\u0430dmin@example.com', 'email mixes scripts within one part (Latin and Cyrillic), so it could pass for another address'],
      ['a Cyrillic a in a domain label', 'lookalike-admin@ex\u0430mple.com', 'email mixes scripts within one part (Latin and Cyrillic), so it could pass for another address'],
      ['a Greek omicron', 'lookalike-admin@example.c\u03bfm', 'email mixes scripts within one part (Latin and Greek), so it could pass for another address'],
    ])('should refuse %s with a 400 naming the email field', async (_case, email, message) => {
      const response = await register(email).expect(400);
      expect(response.body.errors).toEqual([{ field: 'email', messages: [message] }]);
      expect(response.body.detail).toBe(`Validation failed: ${message}`);
    });

    it('should store a new address in its normal form, and sign in with either spelling', async () => {
      const registered = await register('ｆｕｌｌｗｉｄｔｈ@example.com', 'fullwidth password').expect(201);
      expect(registered.body.user.email).toBe('fullwidth@example.com');
      await app.rest.post('/api/auth/login').send({ email: 'fullwidth@example.com', password: 'fullwidth password' }).expect(200);
      await app.rest.post('/api/auth/login').send({ email: 'ｆｕｌｌｗｉｄｔｈ@example.com', password: 'fullwidth password' }).expect(200);
    });

    it('should accept an address written in one script other than Latin', async () => {
      const registered = await register('иван@пример.рф').expect(201);
      expect(registered.body.user.email).toBe('иван@пример.рф');
    });
  });
});
