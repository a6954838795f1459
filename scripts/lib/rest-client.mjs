// The REST calls a user makes: register, log in, create an MCP key (bench, serve, durability check).

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export async function api(baseUrl, path, { method = 'GET', body, token } = {}) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed };
}

async function expectStatus(promise, status, what) {
  const response = await promise;
  if (response.status !== status) throw new Error(`${what}: expected HTTP ${status}, got ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/** Registers a new account and logs in; returns { id, email, jwt }. */
export async function registerAndLogin(restUrl, email) {
  const password = 'bench-password-123';
  const registered = await expectStatus(api(restUrl, '/api/auth/register', { method: 'POST', body: { email, password } }), 201, 'register');
  const login = await expectStatus(api(restUrl, '/api/auth/login', { method: 'POST', body: { email, password } }), 200, 'login');
  // The id goes into the bench's own SQL (generated rows, checks), so it must be the UUID it claims to be.
  if (!UUID.test(registered.user.id)) throw new Error(`register: unexpected user id ${JSON.stringify(registered.user.id)}`);
  return { id: registered.user.id, email, jwt: login.access_token };
}

/** Creates an MCP API key for a logged-in user; returns { apiKey, keyId }. */
export async function createApiKey(restUrl, jwt, keyName = 'bench') {
  const created = await expectStatus(api(restUrl, '/api/mcp-keys/create', { method: 'POST', token: jwt, body: { key_name: keyName } }), 200, 'create key');
  return { apiKey: created.api_key, keyId: created.key_id };
}

/** GET with a JWT that must answer 200; returns the parsed body. */
export function getJson(restUrl, path, jwt) {
  return expectStatus(api(restUrl, path, { token: jwt }), 200, `GET ${path}`);
}
