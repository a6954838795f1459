import { readFileSync, writeFileSync } from 'node:fs';
import { SETTINGS } from './settings.js';
import { renderEnvExample } from './env-example.js';
import { isSetting, type SettingTree } from './setting.js';

const ENV_EXAMPLE = new URL('../../.env.example', import.meta.url);

const variablesOf = (tree: SettingTree): string[] => Object.values(tree).flatMap((node) => (isSetting(node) ? [node.variable] : variablesOf(node)));

describe('.env.example', () => {
  // `npm run env:example` rewrites it from SETTINGS.
  if (process.env.UPDATE_ENV_EXAMPLE === '1') writeFileSync(ENV_EXAMPLE, renderEnvExample());

  it('should be what src/config/settings.ts declares (run `npm run env:example` after changing a setting)', () => {
    expect(readFileSync(ENV_EXAMPLE, 'utf8')).toBe(renderEnvExample());
  });

  it('should list every setting once, with its default, under a comment', () => {
    const text = renderEnvExample();
    const assigned = text.split('\n').filter((line) => /^[A-Z0-9_]+=/.test(line)).map((line) => line.slice(0, line.indexOf('=')));
    expect(assigned).toEqual(variablesOf(SETTINGS));
    expect(new Set(assigned).size).toBe(assigned.length);
    expect(text).toContain('\n# Required. Left unset, ./scripts/serve.sh starts a local clickhouse-server');
    expect(text).toContain('\nMCP_KEY_CACHE_TTL_SECONDS=30\n');
    expect(text).toContain('\nQUOTA_KEY_RECORDS_PER_DAY=0\nQUOTA_KEY_RECORDS_PER_MONTH=0\nQUOTA_KEY_CALLS_PER_DAY=0\n');
    expect(text.split('\n').every((line) => line.length <= 100)).toBe(true);
  });
});
