// Builds the app (and its console) the e2e tests run, then gives them a real ClickHouse (clickhouse-setup.mjs)
// and the demo market to copy (market-template.mjs).
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import clickHouseSetup from './clickhouse-setup.mjs';
import { seedMarketTemplate } from './market-template.mjs';

export default async function globalSetup() {
  const root = resolve(import.meta.dirname, '..');
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  execFileSync(process.execPath, [join(root, 'scripts/build-console.mjs')], { stdio: 'inherit' });
  await clickHouseSetup();
  await seedMarketTemplate(process.env.CLICKHOUSE_URL.split(',').at(-1));
}
