import { createHash } from 'node:crypto';
import { UnauthorizedError, auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { grantAdmin } from './support/admin-cli.js';
import { queryRows, rawClient } from './support/clickhouse.js';
import { rawRpc, untilStatus } from './support/mcp.js';
import { FormSigningInProvider, signInOverHttp } from './support/oauth-client.js';
import { formFieldsOf, unescapeHtml } from './support/sign-in-form.mjs';
import { type LoggedInUser, type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';
import { waitForCount } from './support/usage-log.js';

const toolsList = { jsonrpc: '2.0', id: 1, method: 'tools/list' };

/** An SDK client that signs in with OAuth the way MCP clients do: connect, get a 401, sign in, finish, connect again. */
async function signInAndConnect(app: TestApp, provider: FormSigningInProvider): Promise<Client> {
  const url = new URL(`${app.mcpUrl}/messages`);
  const first = new Client({ name: 'oauth-e2e', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
  // initialize needs no key (as the seed has it); the first request that does gets the 401 that starts the sign-in.
  await first.connect(transport);
  await expect(first.listTools()).rejects.toBeInstanceOf(UnauthorizedError);
  expect(provider.code).toMatch(/^[0-9a-f]{64}$/);
  await transport.finishAuth(provider.code!);
  await first.close();
  const client = new Client({ name: 'oauth-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
  return client;
}

/** What the refusal page of /authorize names, once it is known to be a page and no redirect. */
function refusalOf(response: { headers: Record<string, string>; text: string }) {
  expect(response.headers.location).toBeUndefined();
  expect(response.headers['content-type']).toMatch(/^text\/html/);
  const [, error, description] = /<code>([^<]*)<\/code>: ([^<]*)<\/p>/.exec(response.text) ?? [];
  return { error: unescapeHtml(error ?? ''), error_description: unescapeHtml(description ?? '') };
}

async function listKeys(app: TestApp, user: LoggedInUser) {
  const response = await app.rest.get('/api/mcp-keys/list').set('Authorization', `Bearer ${user.jwt}`).expect(200);
  return response.body.keys as { id: string; key_name: string; is_active: boolean }[];
}

describe('OAuth sign-in from MCP clients (e2e)', () => {
  let app: TestApp;
  let user: LoggedInUser;
  let admin: LoggedInUser;
  const adminEmail = `oauth-admin-${Date.now()}@example.com`;

  beforeAll(async () => {
    // Sign-ins are many here; the per-address limit of the sign-in endpoints is not what this suite is about.
    app = await startTestApp({ DEMO_DATA: 'true', USAGE_FLUSH_INTERVAL_MS: '50', OAUTH_ACCESS_TOKEN_TTL_SECONDS: '3', OAUTH_REFRESH_REUSE_GRACE_SECONDS: '2', AUTH_RATE_LIMIT: '1000', MCP_MAX_KEYS_PER_USER: '5' });
    user = await registerAndLogin(app);
    admin = await registerAndLogin(app, adminEmail);
    await grantAdmin(app, adminEmail);
  });

  afterAll(() => app.stop());

  it('should point a client without a key to the sign-in metadata (RFC 9728, RFC 8414)', async () => {
    const refused = await rawRpc(app, toolsList).expect(401);
    const metadataUrl = `${app.mcpUrl}/.well-known/oauth-protected-resource/messages`;
    expect(refused.headers['www-authenticate']).toBe(`Bearer realm="mcp", resource_metadata="${metadataUrl}"`);
    expect(refused.body.error).toEqual({ code: -32001, message: 'API key required' });

    const resource = await fetch(metadataUrl);
    expect(resource.status).toBe(200);
    expect(await resource.json()).toEqual({
      resource: `${app.mcpUrl}/messages`,
      authorization_servers: [app.restUrl],
      bearer_methods_supported: ['header'],
      resource_name: 'Stock data MCP',
      resource_documentation: `${app.restUrl}/docs`,
    });
    const server = await app.rest.get('/.well-known/oauth-authorization-server').expect(200);
    expect(server.body).toMatchObject({
      issuer: app.restUrl,
      authorization_endpoint: `${app.restUrl}/authorize`,
      token_endpoint: `${app.restUrl}/token`,
      registration_endpoint: `${app.restUrl}/register`,
      code_challenge_methods_supported: ['S256'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
    });
  });

  it('should sign an SDK client in with the form, then list and call tools on a key "OAuth: <client>" that is metered', async () => {
    const provider = new FormSigningInProvider(user, 'Claude Code');
    const client = await signInAndConnect(app, provider);
    try {
      expect(provider.savedTokens).toMatchObject({ token_type: 'Bearer', expires_in: 3 });
      expect(provider.savedTokens!.access_token).toMatch(/^sk-oauth-[0-9a-f]{64}$/);
      expect(provider.savedTokens!.refresh_token).toMatch(/^rt-[0-9a-f]{64}$/);
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain('get_latest_bars');
      const result = await client.callTool({ name: 'get_latest_bars', arguments: { ts_codes: ['600519.SH', '000001.SZ'] } });
      expect(result.structuredContent).toMatchObject({ table: 'ods_daily', row_count: 2 });
    } finally {
      await client.close();
    }
    const oauthKeys = (await listKeys(app, user)).filter((key) => key.key_name === 'OAuth: Claude Code');
    expect(oauthKeys).toHaveLength(1);
    expect(oauthKeys[0]).toMatchObject({ is_active: true });
    expect(await waitForCount(app, oauthKeys[0].id, 1)).toBe(1);
    const history = await app.rest.get('/api/mcp-usage/history').set('Authorization', `Bearer ${user.jwt}`).expect(200);
    expect(history.body.records.filter((record: { api_key_id: string }) => record.api_key_id === oauthKeys[0].id)).toEqual([
      expect.objectContaining({ tool_name: 'get_latest_bars', record_count: 2, is_error: false }),
    ]);
  });

  it('should refuse an expired access token with the metadata hint, and serve again after the SDK refreshes it', async () => {
    const provider = new FormSigningInProvider(user, 'Expiry test');
    const client = await signInAndConnect(app, provider);
    await client.close();
    const expired = provider.savedTokens!;
    const refused = await untilStatus(() => rawRpc(app, toolsList, expired.access_token), 401, 5000);
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toContain('error="invalid_token", resource_metadata="');
    expect(refused.body.error.message).toBe('Invalid or expired API key');

    expect(await auth(provider, { serverUrl: `${app.mcpUrl}/messages` })).toBe('AUTHORIZED');
    const renewed = provider.savedTokens!;
    expect(renewed.access_token).not.toBe(expired.access_token);
    expect(renewed.refresh_token).not.toBe(expired.refresh_token);
    const listed = await rawRpc(app, toolsList, renewed.access_token).expect(200);
    expect(listed.body.result.tools.length).toBeGreaterThan(0);
  });

  it('should end the whole sign-in when a used refresh token is presented again', async () => {
    const provider = new FormSigningInProvider(user, 'Replay test');
    await (await signInAndConnect(app, provider)).close();
    const first = provider.savedTokens!;
    expect(await auth(provider, { serverUrl: `${app.mcpUrl}/messages` })).toBe('AUTHORIZED');
    await rawRpc(app, toolsList, provider.savedTokens!.access_token).expect(200);
    // Past OAUTH_REFRESH_REUSE_GRACE_SECONDS (2 s here), a reuse is a leak.
    await new Promise((resolve) => setTimeout(resolve, 2500));

    const replay = await app.rest.post('/token').type('form').send({ grant_type: 'refresh_token', refresh_token: first.refresh_token, client_id: provider.information!.client_id }).expect(400);
    expect(replay.body).toEqual({ error: 'invalid_grant', error_description: 'This refresh token was already used, so this sign-in was revoked; sign in again' });
    await rawRpc(app, toolsList, provider.savedTokens!.access_token).expect(401);
    const key = (await listKeys(app, user)).find((listed) => listed.key_name === 'OAuth: Replay test');
    expect(key).toMatchObject({ is_active: false });
  });

  it('should stop a token on the very next call once its key is revoked in the key list', async () => {
    const provider = new FormSigningInProvider(user, 'Revoke test');
    const client = await signInAndConnect(app, provider);
    await client.close();
    const token = provider.savedTokens!.access_token;
    await rawRpc(app, toolsList, token).expect(200);
    const key = (await listKeys(app, user)).find((listed) => listed.key_name === 'OAuth: Revoke test')!;
    await app.rest.post('/api/mcp-keys/revoke').set('Authorization', `Bearer ${user.jwt}`).send({ key_id: key.id }).expect(200);
    const refused = await rawRpc(app, toolsList, token).expect(401);
    expect(refused.headers['www-authenticate']).toContain('error="invalid_token"');
    // Nor can the sign-in be extended.
    const refresh = await app.rest.post('/token').type('form').send({ grant_type: 'refresh_token', refresh_token: provider.savedTokens!.refresh_token, client_id: provider.information!.client_id }).expect(400);
    expect(refresh.body.error_description).toBe('This sign-in was revoked or has expired; sign in again');
  });

  it('should revoke a token through /revoke (RFC 7009)', async () => {
    const provider = new FormSigningInProvider(user, 'Revocation endpoint');
    await (await signInAndConnect(app, provider)).close();
    const { access_token } = provider.savedTokens!;
    await app.rest.post('/revoke').type('form').send({ token: access_token, client_id: provider.information!.client_id }).expect(200);
    await rawRpc(app, toolsList, access_token).expect(401);
  });

  it('should let two sessions refresh at once without ending the sign-in', async () => {
    const { tokens, clientId } = await signInOverHttp(app.restUrl, user, { name: 'Two sessions' });
    const refresh = () => app.rest.post('/token').type('form').send({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: clientId });
    const answers = await Promise.all([refresh(), refresh()]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 400]);
    const loser = answers.find((answer) => answer.status === 400)!;
    expect(loser.body).toEqual({ error: 'invalid_grant', error_description: 'This refresh token was just used; use the one that refresh returned' });
    const winner = answers.find((answer) => answer.status === 200)!;
    await rawRpc(app, toolsList, winner.body.access_token).expect(200);
  });

  it('should keep at most MCP_MAX_KEYS_PER_USER sign-ins, signing out the oldest, beside as many pasted keys', async () => {
    const person = await registerAndLogin(app);
    const signIns = [];
    for (let n = 1; n <= 6; n++) signIns.push(await signInOverHttp(app.restUrl, person, { name: `Laptop ${n}` }));
    await rawRpc(app, toolsList, signIns[0].tokens.access_token).expect(401);
    await rawRpc(app, toolsList, signIns[5].tokens.access_token).expect(200);
    const keys = await listKeys(app, person);
    expect(keys.filter((key) => key.is_active).map((key) => key.key_name).sort()).toEqual(['OAuth: Laptop 2', 'OAuth: Laptop 3', 'OAuth: Laptop 4', 'OAuth: Laptop 5', 'OAuth: Laptop 6']);
    expect(keys.every((key) => (key as unknown as { api_key_prefix: string }).api_key_prefix === 'sk-oauth-...')).toBe(true);
    for (let n = 1; n <= 5; n++) await app.rest.post('/api/mcp-keys/create').set('Authorization', `Bearer ${person.jwt}`).send({ key_name: `pasted ${n}` }).expect(200);
    const sixth = await app.rest.post('/api/mcp-keys/create').set('Authorization', `Bearer ${person.jwt}`).send({ key_name: 'pasted 6' }).expect(409);
    expect(sixth.body.detail).toBe('You already have 5 active API keys; revoke one before creating another');
  });

  it('should refuse to extend the sign-in of an account an administrator disabled', async () => {
    const person = await registerAndLogin(app);
    const { tokens, clientId } = await signInOverHttp(app.restUrl, person, { name: 'Disabled later' });
    await app.rest.post(`/api/admin/users/${person.id}/disable`).set('Authorization', `Bearer ${admin.jwt}`).expect(200);
    await rawRpc(app, toolsList, tokens.access_token).expect(401);
    const refresh = await app.rest.post('/token').type('form').send({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: clientId }).expect(400);
    expect(refresh.body.error_description).toBe('This account is disabled');
    // Enabled again: the same token works on the next call (its refusal is not remembered).
    await app.rest.post(`/api/admin/users/${person.id}/enable`).set('Authorization', `Bearer ${admin.jwt}`).expect(200);
    await rawRpc(app, toolsList, tokens.access_token).expect(200);
  });

  it("should hold a new sign-in to the ceiling an administrator set on the user's keys", async () => {
    const person = await registerAndLogin(app);
    const limited = (await app.rest.post('/api/mcp-keys/create').set('Authorization', `Bearer ${person.jwt}`).send({ key_name: 'limited' }).expect(200)).body;
    const ceiling = { tools: ['search_stocks'], tables: [], calls_per_minute: 30, records_per_day: null, records_per_month: null, calls_per_day: null };
    await app.rest.put(`/api/admin/keys/${limited.key_id}/policy`).set('Authorization', `Bearer ${admin.jwt}`).send({ tools: ['search_stocks'], calls_per_minute: 30 }).expect(200);
    await app.rest.post('/api/mcp-keys/revoke').set('Authorization', `Bearer ${person.jwt}`).send({ key_id: limited.key_id }).expect(200);

    const { tokens } = await signInOverHttp(app.restUrl, person, { name: 'After the ceiling' });
    const listed = (await rawRpc(app, toolsList, tokens.access_token).expect(200)).body.result.tools as { name: string }[];
    expect(listed.map((tool) => tool.name)).toEqual(['search_stocks']);
    const signIn = (await listKeys(app, person)).find((key) => key.key_name === 'OAuth: After the ceiling') as unknown as { policy: unknown };
    expect(signIn.policy).toEqual(ceiling);
  });

  it('should sign in a client whose name is cut inside an emoji, and refuse text that is not Unicode with a 400', async () => {
    const name = `${'a'.repeat(79)}😀 Assistant`;
    const { tokens } = await signInOverHttp(app.restUrl, user, { name });
    await rawRpc(app, toolsList, tokens.access_token).expect(200);
    expect((await listKeys(app, user)).map((key) => key.key_name)).toContain(`OAuth: ${'a'.repeat(79)}😀`);
    const lone = await app.rest.post('/register').set('Content-Type', 'application/json').send('{"client_name":"\\ud800x","redirect_uris":["http://127.0.0.1:1/cb"]}').expect(400);
    expect(lone.body).toEqual({ error: 'invalid_request', error_description: 'client_name is not valid Unicode text (it contains a lone surrogate)' });
  });

  it('should warn on the page when the client sends the user to another site, and name that site in the key', async () => {
    const { page } = await signInOverHttp(app.restUrl, user, { name: 'Claude Code', redirectUri: 'https://elsewhere.example/callback' });
    expect(page).toContain('<strong>After you sign in you are sent to elsewhere.example.</strong> Anyone can register an app under any name');
    expect((await listKeys(app, user)).map((key) => key.key_name)).toContain('OAuth: Claude Code via elsewhere.example');
  });

  it('should keep the seed\'s pasted sk- keys working beside OAuth', async () => {
    const created = await app.rest.post('/api/mcp-keys/create').set('Authorization', `Bearer ${user.jwt}`).send({ key_name: 'pasted' }).expect(200);
    const listed = await rawRpc(app, toolsList, created.body.api_key).expect(200);
    expect(listed.body.result.tools.length).toBeGreaterThan(0);
  });

  it('should mark a client someone signed in with as used, and leave one only registered unmarked (what the pruner deletes)', async () => {
    const { clientId } = await signInOverHttp(app.restUrl, user, { name: 'Marked as used' });
    const registered = await app.rest.post('/register').send({ client_name: 'Only registered', redirect_uris: ['http://127.0.0.1:9/cb'] }).expect(201);
    const ids = [clientId, registered.body.client_id as string];
    expect(ids.every((id) => /^[0-9a-f-]{36}$/.test(id))).toBe(true);
    const client = rawClient(app.database);
    try {
      const rows = await queryRows<{ client_id: string; used: number }>(
        client,
        `SELECT client_id, max(signed_in) AS used FROM mcp_oauth_clients WHERE client_id IN ('${ids.join("','")}') GROUP BY client_id`,
      );
      expect(Object.fromEntries(rows.map((row) => [row.client_id, Number(row.used)]))).toEqual({ [ids[0]]: 1, [ids[1]]: 0 });
    } finally {
      await client.close();
    }
  });

  describe('hostile or mistaken sign-ins', () => {
    let provider: FormSigningInProvider;
    let page: string;

    beforeAll(async () => {
      provider = new FormSigningInProvider(user, '<script>alert(1)</script>');
      const registered = await app.rest.post('/register').send(provider.clientMetadata).expect(201);
      provider.saveClientInformation(registered.body);
      const query = { client_id: registered.body.client_id, redirect_uri: provider.redirectUrl, response_type: 'code', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256', state: 's"1' };
      page = (await app.rest.get('/authorize').query(query).expect(200)).text;
    });

    it('should register clients as public clients: no secret issued, PKCE instead', () => {
      expect(provider.information).toMatchObject({ token_endpoint_auth_method: 'none', client_name: '<script>alert(1)</script>' });
      expect(provider.information).not.toHaveProperty('client_secret');
    });

    it('should escape what the client chose and allow no script on the page', async () => {
      expect(page).not.toContain('<script>');
      expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(formFieldsOf(page).state).toBe('s"1');
      const response = await app.rest.get('/authorize').query({ ...formFieldsOf(page) }).expect(200);
      expect(response.headers['content-security-policy']).toBe("default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http://127.0.0.1:33418; frame-ancestors 'none'; base-uri 'none'");
    });

    it('should show the page again with the reason for a wrong password, and issue no code', async () => {
      const response = await app.rest.post('/authorize').type('form').send({ ...formFieldsOf(page), email: user.email, password: 'wrong password' }).expect(401);
      expect(response.headers.location).toBeUndefined();
      expect(response.text).toContain('<p class="error" role="alert">Incorrect email or password</p>');
    });

    it.each([
      ['another origin', { Origin: 'http://evil.example' }],
      ['an opaque origin', { Origin: 'null' }],
      ['a same-site page', { 'Sec-Fetch-Site': 'same-site' }],
      ['another site', { 'Sec-Fetch-Site': 'cross-site' }],
    ])('should refuse a sign-in form posted from %s (login CSRF)', async (_from, headers) => {
      const response = await app.rest.post('/authorize').set(headers).type('form').send({ ...formFieldsOf(page), ...user }).expect(403);
      expect(response.headers.location).toBeUndefined();
    });

    it("should answer a bad authorization request with a 400 page of its own, never a redirect to the client's URI", async () => {
      const fields = formFieldsOf(page);
      for (const [change, expected] of [
        [{ response_type: 'token' }, 'response_type must be code'],
        [{ code_challenge_method: 'plain' }, 'code_challenge_method must be S256 (PKCE is required)'],
        [{ code_challenge: 'short' }, 'code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, -._~'],
        [{ scope: 'a  b' }, 'scope must be scope tokens separated by single spaces (RFC 6749 §3.3)'],
        [{ state: 's'.repeat(1025) }, 'state must be text of at most 1024 characters'],
      ] as const) {
        const response = await app.rest.get('/authorize').query({ ...fields, ...change }).expect(400);
        expect(refusalOf(response)).toEqual({ error: 'invalid_request', error_description: expected });
      }
      expect(refusalOf(await app.rest.get('/authorize').query({ client_id: fields.client_id }).expect(400))).toEqual({ error: 'invalid_request', error_description: 'response_type is required' });
    });

    it.each(['scope', 'client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method', 'response_type', 'resource', 'an_unknown_one'])(
      'should refuse %s given twice with a 400 page, on the page (GET) and from its form (POST), before anything can redirect',
      async (name) => {
        const fields = { ...formFieldsOf(page), resource: `${app.mcpUrl}/messages` };
        const query = new URLSearchParams(fields);
        query.append(name, name in fields ? fields[name as keyof typeof fields] : 'x');
        query.append(name, 'b');
        const expected = { error: 'invalid_request', error_description: `"${name}" is given more than once; each parameter may appear once (RFC 6749 §3.1)` };
        expect(refusalOf(await app.rest.get(`/authorize?${query.toString()}`).expect(400))).toEqual(expected);
        query.append('email', user.email);
        query.append('password', user.password);
        expect(refusalOf(await app.rest.post('/authorize').type('form').send(query.toString()).expect(400))).toEqual(expected);
      },
    );

    it('should ignore an unknown parameter given once (RFC 6749 §3.1), and never echo it', async () => {
      const response = await app.rest.get('/authorize').query({ ...formFieldsOf(page), prompt_marker: 'zz-unknown-value' }).expect(200);
      expect(formFieldsOf(response.text)).toEqual(formFieldsOf(page));
      expect(response.text).not.toContain('zz-unknown-value');
    });

    it('should refuse unknown clients, unregistered redirect URIs and script redirect URIs', async () => {
      const fields = formFieldsOf(page);
      const unknown = await app.rest.get('/authorize').query({ ...fields, client_id: '00000000-0000-0000-0000-000000000000' }).expect(400);
      expect(refusalOf(unknown)).toEqual({ error: 'invalid_client', error_description: 'Invalid client_id' });
      const elsewhere = await app.rest.get('/authorize').query({ ...fields, redirect_uri: 'https://evil.example/callback' }).expect(400);
      expect(refusalOf(elsewhere)).toEqual({ error: 'invalid_request', error_description: 'Unregistered redirect_uri' });
      const refusedUris = ['javascript:alert(1)', 'http://evil.example/callback', 'ms-msdt:/id', 'search-ms:query=x', 'https://x;script-src/cb', 'https://user@host.example/cb', 'view-source://host.example/x'];
      refusedUris.push('ftp://files.example/cb', 'ws://127.0.0.1/cb', 'intent://x/cb', 'myapp://host/cb', 'https://host.example/cb#', 'data:text/html,x', 'file:///etc/passwd');
      for (const uri of refusedUris) {
        const refused = await app.rest.post('/register').send({ ...provider.clientMetadata, redirect_uris: [uri] }).expect(400);
        expect([uri, refused.body.error]).toEqual([uri, expect.stringMatching(/^invalid_(redirect_uri|client_metadata)$/)]);
      }
      const remoteHttp = await app.rest.post('/register').send({ ...provider.clientMetadata, redirect_uris: ['http://evil.example/callback'] }).expect(400);
      expect(remoteHttp.body).toEqual({
        error: 'invalid_redirect_uri',
        error_description: 'redirect_uri "http://evil.example/callback" is not allowed: use https, http on a loopback address, or an app\'s reverse-DNS scheme (com.example.app:/callback)',
      });
      const apps = ['cursor://anysphere.cursor-mcp/oauth/callback', 'com.example.app:/oauth/callback', 'https://claude.ai/api/mcp/auth_callback'];
      await app.rest.post('/register').send({ ...provider.clientMetadata, redirect_uris: apps }).expect(201);
    });

    it('should refuse a code with the wrong PKCE verifier, and an unknown code', async () => {
      const submitted = await app.rest.post('/authorize').type('form').send({ ...formFieldsOf(page), ...user }).expect(302);
      const code = new URL(submitted.headers.location).searchParams.get('code')!;
      expect(new URL(submitted.headers.location).searchParams.get('state')).toBe('s"1');
      const exchange = { grant_type: 'authorization_code', code, client_id: provider.information!.client_id, redirect_uri: provider.redirectUrl };
      const wrong = await app.rest.post('/token').type('form').send({ ...exchange, code_verifier: 'y'.repeat(43) }).expect(400);
      expect(wrong.body).toEqual({ error: 'invalid_grant', error_description: 'code_verifier does not match the challenge' });
      const bogus = await app.rest.post('/token').type('form').send({ ...exchange, code: 'f'.repeat(64), code_verifier: 'x'.repeat(43) }).expect(400);
      expect(bogus.body).toEqual({ error: 'invalid_grant', error_description: 'Unknown authorization code' });
    });

    /** Signs the user in on the page with the S256 challenge of `verifier`: the code the redirect carries. */
    async function codeFor(verifier: string, headers: Record<string, string> = {}, fields: Record<string, string> = {}): Promise<string> {
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const submitted = await app.rest.post('/authorize').set(headers).type('form').send({ ...formFieldsOf(page), code_challenge: challenge, ...fields, ...user }).expect(302);
      return new URL(submitted.headers.location).searchParams.get('code')!;
    }

    const redeem = (code: string, verifier: string, more: Record<string, string> = {}) =>
      app.rest.post('/token').type('form').send({ grant_type: 'authorization_code', code, code_verifier: verifier, client_id: provider.information!.client_id, redirect_uri: provider.redirectUrl, ...more });

    it('should revoke what a code gave once the code is presented a second time', async () => {
      const verifier = 'v'.repeat(43);
      const code = await codeFor(verifier);
      const tokens = await redeem(code, verifier).expect(200);
      await rawRpc(app, toolsList, tokens.body.access_token).expect(200);
      const again = await redeem(code, verifier).expect(400);
      expect(again.body).toEqual({ error: 'invalid_grant', error_description: 'This authorization code was already used' });
      await rawRpc(app, toolsList, tokens.body.access_token).expect(401);
    });

    it("should refuse a code with a wrong code_verifier without spending it: the user's own exchange then works", async () => {
      const verifier = 'u'.repeat(43);
      const code = await codeFor(verifier);
      const attacker = await redeem(code, 'w'.repeat(43)).expect(400);
      expect(attacker.body).toEqual({ error: 'invalid_grant', error_description: 'code_verifier does not match the challenge' });
      const tokens = await redeem(code, verifier).expect(200);
      await rawRpc(app, toolsList, tokens.body.access_token).expect(200);
    });

    it('should leave the sign-in alone when a used code is replayed without its verifier (no revoke by a leaked code)', async () => {
      const verifier = 't'.repeat(43);
      const code = await codeFor(verifier);
      const tokens = await redeem(code, verifier).expect(200);
      const replay = await redeem(code, 'w'.repeat(43)).expect(400);
      expect(replay.body).toEqual({ error: 'invalid_grant', error_description: 'code_verifier does not match the challenge' });
      await rawRpc(app, toolsList, tokens.body.access_token).expect(200);
    });
    it("should refuse a sign-in for another resource (RFC 8707) with a 400 page, and accept this server's MCP endpoint", async () => {
      const fields = formFieldsOf(page);
      for (const resource of ['https://other.example/messages', `${app.mcpUrl}/messages#x`, `${app.mcpUrl}/other`, 'not a url']) {
        const refused = await app.rest.get('/authorize').query({ ...fields, resource }).expect(400);
        expect(refusalOf(refused)).toEqual({ error: 'invalid_target', error_description: `resource ${JSON.stringify(resource)} is not this server's MCP endpoint (${app.mcpUrl}/messages)` });
      }
      const accepted = await app.rest.get('/authorize').query({ ...fields, resource: `${app.mcpUrl}/messages` }).expect(200);
      expect(formFieldsOf(accepted.text).resource).toBe(`${app.mcpUrl}/messages`);
    });

    it('should refuse a token request for another resource with invalid_target, leaving the code and the sign-in usable', async () => {
      const verifier = 'r'.repeat(43);
      const code = await codeFor(verifier);
      const other = { resource: 'https://other.example/messages' };
      const refused = await redeem(code, verifier, other).expect(400);
      expect(refused.body).toEqual({ error: 'invalid_target', error_description: `resource "https://other.example/messages" is not this server's MCP endpoint (${app.mcpUrl}/messages)` });
      const tokens = await redeem(code, verifier, { resource: `${app.mcpUrl}/messages` }).expect(200);
      const refresh = (more: Record<string, string>) =>
        app.rest.post('/token').type('form').send({ grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: provider.information!.client_id, ...more });
      expect((await refresh(other).expect(400)).body.error).toBe('invalid_target');
      const renewed = await refresh({ resource: `${app.mcpUrl}/messages` }).expect(200);
      await rawRpc(app, toolsList, renewed.body.access_token).expect(200);
    });

    it('should take the MCP endpoint named with or without its port as one resource, from sign-in to exchange to refresh', async () => {
      const withPort = `${app.mcpUrl}/messages`;
      const withoutPort = `http://${new URL(app.mcpUrl).hostname}/messages`;
      const verifier = 'o'.repeat(43);
      const tokens = await redeem(await codeFor(verifier, {}, { resource: withoutPort }), verifier, { resource: withPort }).expect(200);
      const refresh = (refreshToken: string, resource: string) =>
        app.rest.post('/token').type('form').send({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: provider.information!.client_id, resource });
      const renewed = await refresh(tokens.body.refresh_token, withPort).expect(200);
      const again = await refresh(renewed.body.refresh_token, withoutPort).expect(200);
      await rawRpc(app, toolsList, again.body.access_token).expect(200);
      // Still one resource: another path is not this sign-in's.
      expect((await refresh(again.body.refresh_token, `${app.mcpUrl}/other`).expect(400)).body.error).toBe('invalid_target');
    });

    it('should refuse at the MCP door a token issued for another resource (its audience), and accept it where it was issued for', async () => {
      // Signed in through another name of this server: the token is for http://localhost:<MCP port>/messages.
      const alias = (url: string) => `localhost:${new URL(url).port}`;
      const verifier = 'q'.repeat(43);
      const tokens = await redeem(await codeFor(verifier, { Host: alias(app.restUrl) }), verifier).expect(200);
      const refused = await rawRpc(app, toolsList, tokens.body.access_token).expect(401);
      expect(refused.body.error.message).toBe('This token was issued for another resource');
      expect(refused.headers['www-authenticate']).toContain('error="invalid_token"');
      const served = await rawRpc(app, toolsList, tokens.body.access_token).set('Host', alias(app.mcpUrl)).expect(200);
      expect(served.body.result.tools.length).toBeGreaterThan(0);
    });
  });
});
