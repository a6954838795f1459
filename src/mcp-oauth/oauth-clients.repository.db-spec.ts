import { randomUUID } from 'node:crypto';
import type { OAuthClientInformationFull } from '@modelcontextprotocol/sdk/shared/auth.js';
import { pollUntil } from '../../scripts/lib/poll.mjs';
import { type AdoptedServices, adoptedServices } from '../../test/support/services.js';
import { sql } from '../clickhouse/sql.js';
import { OAuthClientsRepository } from './oauth-clients.repository.js';

const HOUR_MS = 3_600_000;

describe('OAuthClientsRepository.pruneUnused (a real ClickHouse, an injected clock)', () => {
  let services: AdoptedServices;
  let now: Date;
  let clients: OAuthClientsRepository;

  beforeAll(async () => {
    services = await adoptedServices('oauth_clients_prune');
    clients = new OAuthClientsRepository(services.clickhouse, services.schema, { now: () => now });
    await services.schema.adoptAll();
  });

  afterAll(async () => {
    await services.close();
  });

  /** Registers a client as the SDK's /register does, `hoursAgo` before the clock's now. */
  const register = (name: string, hoursAgo: number) =>
    clients.registerClient({
      client_id: randomUUID(),
      client_id_issued_at: Math.floor((now.getTime() - hoursAgo * HOUR_MS) / 1000),
      client_name: name,
      redirect_uris: ['http://127.0.0.1:9/cb'],
    } as OAuthClientInformationFull);

  /** The distinct clients left, by name (FINAL: never a count of rows a merge may collapse at any time). */
  const remaining = async () =>
    (await services.clickhouse.query<{ client_name: string }>(sql`SELECT DISTINCT client_name FROM mcp_oauth_clients FINAL ORDER BY client_name`)).map((row) => row.client_name);

  it('should delete the clients nobody signed in with within the period after registering, and keep every other', async () => {
    now = new Date('2026-12-07T12:00:00Z');
    const unused = await register('unused for 25 h', 25);
    await register('unused for 23 h', 23);
    const signedInThenMerged = await register('signed in with, rows merged', 30);
    await clients.markSignedIn(signedInThenMerged);
    // A merge keeps one row of the client: the sign-in's, the later insert of the same version.
    await services.clickhouse.command(sql`OPTIMIZE TABLE mcp_oauth_clients FINAL`);
    // Its registration row and its sign-in's, unmerged.
    const signedIn = await register('signed in with, 30 h ago', 30);
    await clients.markSignedIn(signedIn);

    expect(await clients.pruneUnused(24)).toBe(1);
    // ClickHouse runs the mutation in the background.
    const left = await pollUntil(remaining, (names) => !names.includes('unused for 25 h'), { timeoutMs: 10_000, intervalMs: 100 });
    expect(left).toEqual(['signed in with, 30 h ago', 'signed in with, rows merged', 'unused for 23 h']);
    // Another instance (nothing cached) no longer knows the pruned client, and still knows the used one.
    const elsewhere = new OAuthClientsRepository(services.clickhouse, services.schema, { now: () => now });
    expect(await elsewhere.getClient(unused.client_id)).toBeUndefined();
    expect(await elsewhere.getClient(signedIn.client_id)).toMatchObject({ client_name: 'signed in with, 30 h ago', redirect_uris: ['http://127.0.0.1:9/cb'] });

    // Two hours later the other one has gone unused for 25 hours too.
    now = new Date(now.getTime() + 2 * HOUR_MS);
    expect(await clients.pruneUnused(24)).toBe(1);
    expect(await pollUntil(remaining, (names) => names.length === 2, { timeoutMs: 10_000, intervalMs: 100 })).toEqual(['signed in with, 30 h ago', 'signed in with, rows merged']);
    expect(await clients.pruneUnused(24)).toBe(0);
  });
});
