import { runDurabilityRound } from '../scripts/lib/durability-scenario.mjs';

// The same round `npm run test:durability` repeats: ClickHouse dies part way, the gateway is
// killed with SIGKILL, both come back; the table must hold every acknowledged call exactly once.
describe('Usage durability across a ClickHouse crash and SIGKILL (e2e)', () => {
  it('should keep every acknowledged call, once', async () => {
    const outcome = await runDurabilityRound({ clients: 8, clickhouseDownAfterMs: 1000, killAfterMs: 2000 });

    expect(outcome.acknowledged).toBeGreaterThan(50);
    expect(outcome.missing).toEqual([]);
    expect(outcome.duplicated).toEqual([]);
    expect(outcome.recorded).toBe(outcome.acknowledged + outcome.unacknowledged.length);
  });
});
