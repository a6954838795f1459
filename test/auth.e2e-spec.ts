import { createHmac } from 'node:crypto';
import { sql, str } from '../src/clickhouse/sql.js';
import { queryRows, rawClient } from './support/clickhouse.js';
import { untilStatus } from './support/mcp.js';
import { type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';

describe('Auth API (e2e)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ AUTH_RATE_LIMIT: '1000' });
  });

  afterAll(async () => {
    await app.stop();
  });

  describe('POST /api/auth/register', () => {
    it('should create a user with a normalized email and never return the hash', async () => {
      const response = await app.rest
        .post('/api/auth/register')
        .send({ email: '  New.User@Example.COM ', password: 'password123', username: 'newbie' })
        .expect(201);
      expect(response.body).toEqual({
        success: true,
        message: 'User registered',
        user: {
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          email: 'new.user@example.com',
          username: 'newbie',
          is_active: true,
          is_admin: false,
          subscription_tier: 'free',
          created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
        },
      });
      expect(JSON.stringify(response.body)).not.toContain('$2b$');
    });

    it('should store a bcrypt hash (the original service verifies it), not the password', async () => {
      const client = rawClient(app.database);
      const rows = await queryRows<{ password_hash: string }>(client, "SELECT password_hash FROM users FINAL WHERE email = 'new.user@example.com'");
      await client.close();
      expect(rows).toHaveLength(1);
      expect(rows[0].password_hash).toMatch(/^\$2b\$12\$[./A-Za-z0-9]{53}$/);
      expect(rows[0].password_hash).not.toContain('password123');
    });

    it('should answer 409 for an email that exists, whatever its case', async () => {
      const response = await app.rest.post('/api/auth/register').send({ email: 'NEW.USER@example.com', password: 'password123' }).expect(409);
      expect(response.body).toEqual({ statusCode: 409, detail: 'Email already registered' });
    });

    it('should register one user when the same email races', async () => {
      const attempts = await Promise.all(
        [1, 2, 3].map(() => app.rest.post('/api/auth/register').send({ email: 'race@example.com', password: 'password123' })),
      );
      expect(attempts.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    });

    it.each([
      ['a short password', { email: 'a@example.com', password: 'short' }, 'password must be 8 to 128 characters long'],
      ['a long password', { email: 'a@example.com', password: 'x'.repeat(129) }, 'password must be 8 to 128 characters long'],
      ['a bad email', { email: 'not-an-email', password: 'password123' }, 'email must be a valid email address'],
      ['a missing email', { password: 'password123' }, 'email must be a valid email address'],
      ['a wrong type', { email: 'a@example.com', password: 12345678 }, 'password must be 8 to 128 characters long'],
      ['an unknown field', { email: 'a@example.com', password: 'password123', is_admin: true }, 'property is_admin should not exist'],
    ])('should answer 400 for %s', async (_name, body, message) => {
      const response = await app.rest.post('/api/auth/register').send(body).expect(400);
      expect(response.body.statusCode).toBe(400);
      expect(response.body.detail).toContain(message);
      expect(response.body.errors.flatMap((e: { messages: string[] }) => e.messages)).toContain(message);
    });
  });

  describe('POST /api/auth/login', () => {
    it('should return a bearer token with its lifetime in seconds', async () => {
      await app.rest.post('/api/auth/register').send({ email: 'login@example.com', password: 'password123' }).expect(201);
      const response = await app.rest.post('/api/auth/login').send({ email: 'Login@Example.com', password: 'password123' }).expect(200);
      expect(response.body).toEqual({ access_token: expect.stringMatching(/^ey[\w-]+\.[\w-]+\.[\w-]+$/), token_type: 'bearer', expires_in: 86_400 });
    });

    it('should give the same 401 for a wrong password and an unknown email', async () => {
      const wrong = await app.rest.post('/api/auth/login').send({ email: 'login@example.com', password: 'wrong-password' }).expect(401);
      const unknown = await app.rest.post('/api/auth/login').send({ email: 'nobody@example.com', password: 'password123' }).expect(401);
      expect(wrong.body).toEqual({ statusCode: 401, detail: 'Incorrect email or password' });
      expect(unknown.body).toEqual(wrong.body);
    });

    it('should keep serving after ten wrong passwords', async () => {
      for (let attempt = 0; attempt < 10; attempt++) {
        await app.rest.post('/api/auth/login').send({ email: 'login@example.com', password: `wrong-${attempt}` }).expect(401);
      }
      await app.rest.post('/api/auth/login').send({ email: 'login@example.com', password: 'password123' }).expect(200);
    });

    it('should answer 400 for malformed JSON', async () => {
      const response = await app.rest.post('/api/auth/login').set('Content-Type', 'application/json').send('{"email": "a@b.c",').expect(400);
      expect(response.body.statusCode).toBe(400);
      expect(response.body.detail).toMatch(/^Malformed JSON in request body/);
    });

    it('should answer 413 for a 2 MB body', async () => {
      const response = await app.rest.post('/api/auth/login').send({ email: 'a@b.c', password: 'x'.repeat(2 * 1024 * 1024) }).expect(413);
      expect(response.body).toEqual({ statusCode: 413, detail: 'Request body is larger than the 1048576-byte limit' });
    });
  });

  describe('GET /api/auth/me', () => {
    it('should return the profile of the token holder', async () => {
      const user = await registerAndLogin(app, 'me@example.com');
      const response = await app.rest.get('/api/auth/me').set('Authorization', `Bearer ${user.jwt}`).expect(200);
      expect(response.body).toEqual({ id: user.id, email: 'me@example.com', username: 'me', is_active: true, is_admin: false, subscription_tier: 'free', created_at: expect.any(String) });
      // The claims the original service puts in its tokens, so each accepts the other's.
      const claims = JSON.parse(Buffer.from(user.jwt.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
      expect(claims).toEqual({ sub: user.id, email: 'me@example.com', tier: 'free', iat: expect.any(Number), exp: (claims.iat as number) + 86_400 });
    });

    it('should refuse a missing, tampered or foreign-signed token with 401', async () => {
      const user = await registerAndLogin(app);
      const [header, payload] = user.jwt.split('.');
      const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: 'someone-else' })).toString('base64url');
      const foreignSignature = createHmac('sha256', 'another-secret').update(`${header}.${payload}`).digest('base64url');

      const missing = await app.rest.get('/api/auth/me').expect(401);
      expect(missing.body.detail).toMatch(/^Not authenticated/);
      const tampered = await app.rest.get('/api/auth/me').set('Authorization', `Bearer ${header}.${forged}.${user.jwt.split('.')[2]}`).expect(401);
      expect(tampered.body).toEqual({ statusCode: 401, detail: 'Invalid token' });
      await app.rest.get('/api/auth/me').set('Authorization', `Bearer ${header}.${payload}.${foreignSignature}`).expect(401);
    });

    it('should refuse an expired token with 401', async () => {
      const shortLived = await startTestApp({ JWT_EXPIRES_IN: '1s' });
      try {
        const user = await registerAndLogin(shortLived);
        const response = await untilStatus(() => shortLived.rest.get('/api/auth/me').set('Authorization', `Bearer ${user.jwt}`), 401, 3000);
        expect(response.status).toBe(401);
        expect(response.body).toEqual({ statusCode: 401, detail: 'Token has expired; log in again' });
      } finally {
        await shortLived.stop();
      }
    });

    it('should refuse the token of a deactivated user', async () => {
      const user = await registerAndLogin(app);
      const client = rawClient(app.database);
      await client.command({
        // As the original service disables an account: a new row, a later updated_at.
        query: sql`INSERT INTO users (id, email, username, password_hash, is_active, is_admin, subscription_tier, created_at, updated_at)
          SELECT id, email, username, password_hash, 0, is_admin, subscription_tier, created_at, updated_at + 1 FROM users FINAL WHERE id = ${str(user.id)}`.text,
      });
      await client.close();
      const response = await app.rest.get('/api/auth/me').set('Authorization', `Bearer ${user.jwt}`).expect(401);
      expect(response.body).toEqual({ statusCode: 401, detail: 'User not found or disabled' });
      const login = await app.rest.post('/api/auth/login').send({ email: user.email, password: user.password }).expect(403);
      expect(login.body.detail).toBe('This account is disabled');
    });
  });

  describe('rate limiting', () => {
    it('should answer 429 with Retry-After once a client exceeds the login limit', async () => {
      const limited = await startTestApp({ AUTH_RATE_LIMIT: '3', AUTH_RATE_WINDOW_SECONDS: '60' });
      try {
        for (let attempt = 0; attempt < 3; attempt++) {
          await limited.rest.post('/api/auth/login').send({ email: 'x@example.com', password: 'whatever1' }).expect(401);
        }
        const response = await limited.rest.post('/api/auth/login').send({ email: 'x@example.com', password: 'whatever1' }).expect(429);
        expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
        expect(response.body).toEqual({ statusCode: 429, detail: 'Too many requests; retry after the time in the Retry-After header' });
      } finally {
        await limited.stop();
      }
    });
  });
});
