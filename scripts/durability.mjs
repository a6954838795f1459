// npm run test:durability [-- --rounds 3 --clients 16]
// Proves that no acknowledged tool call is lost or counted twice when ClickHouse dies part way
// and the gateway is killed with SIGKILL. Needs clickhouse-server on PATH (see README).
import { parseArgs } from 'node:util';
import { runDurabilityRound } from './lib/durability-scenario.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, clients: { type: 'string', default: '16' } } });
const rounds = Number(values.rounds);
const clients = Number(values.clients);

const results = [];
for (let round = 1; round <= rounds; round++) {
  console.log(`round ${round}/${rounds}: ${clients} SDK clients`);
  const outcome = await runDurabilityRound({ clients, log: (line) => console.log(`  ${line}`) });
  results.push(outcome);
  console.log(
    `  acknowledged ${outcome.acknowledged}, in the table ${outcome.recorded}, missing ${outcome.missing.length}, ` +
      `duplicated ${outcome.duplicated.length}, recorded but cut off before the answer ${outcome.unacknowledged.length}, ` +
      `calls refused or cut off ${outcome.failedCalls}`,
  );
  if (outcome.missing.length > 0) console.log(`  missing: ${outcome.missing.slice(0, 20).join(', ')}`);
  if (outcome.duplicated.length > 0) console.log(`  duplicated: ${outcome.duplicated.slice(0, 20).join(', ')}`);
}

const missing = results.reduce((sum, r) => sum + r.missing.length, 0);
const duplicated = results.reduce((sum, r) => sum + r.duplicated.length, 0);
const acknowledged = results.reduce((sum, r) => sum + r.acknowledged, 0);
console.log(`\n${rounds} rounds, ${acknowledged} acknowledged calls: ${missing} missing, ${duplicated} duplicated`);
process.exit(missing + duplicated === 0 ? 0 : 1);
