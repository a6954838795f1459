import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Response } from 'supertest';
import { pollUntil } from '../../scripts/lib/poll.mjs';
import type { TestApp } from './test-app.js';

/** The official SDK client configured as the seed document tells users to configure theirs. */
export async function connectSdkClient(app: TestApp, apiKey: string): Promise<Client> {
  const client = new Client({ name: 'e2e-test-client', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${app.mcpUrl}/messages`), {
    requestInit: { headers: { Authorization: `Bearer ${apiKey}` } },
  });
  await client.connect(transport);
  return client;
}

export interface CreatedKey {
  api_key: string;
  key_id: string;
  api_key_prefix: string;
  expires_at: string | null;
  policy: Record<string, unknown>;
}

export async function createApiKey(app: TestApp, jwt: string, body: Record<string, unknown> = {}): Promise<CreatedKey> {
  const response = await app.rest.post('/api/mcp-keys/create').set('Authorization', `Bearer ${jwt}`).send(body).expect(200);
  return response.body as CreatedKey;
}

/** A raw JSON-RPC POST exactly like the seed's curl: no Accept header, no session, no initialize. */
export function rawRpc(app: TestApp, body: unknown, apiKey?: string) {
  const request = app.mcp.post('/messages').set('Content-Type', 'application/json');
  if (apiKey) request.set('Authorization', `Bearer ${apiKey}`);
  return request.send(JSON.stringify(body));
}

/**
 * Sends the request again until it is answered with `status` or `timeoutMs` passes (a change that
 * reaches the app in its own time: a poll of changes made elsewhere, an expiry); resolves with the
 * last answer, for the caller to assert on.
 */
export function untilStatus(send: () => PromiseLike<Response>, status: number, timeoutMs: number): Promise<Response> {
  return pollUntil(async () => await send(), (response: Response) => response.status === status, { timeoutMs, intervalMs: 100 });
}
