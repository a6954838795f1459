import { type Setting, type SettingTree, isSetting } from './setting.js';
import { SETTINGS } from './settings.js';

const WIDTH = 100;

/** The header .env.example shows above a group of SETTINGS; the groups without one go under the one before. */
const SECTION_TITLES: Partial<Record<keyof typeof SETTINGS, string>> = {
  clickhouse: 'ClickHouse',
  jwt: 'Accounts and logins',
  mcp: 'MCP API keys and the gateway',
  usage: 'Usage recording (mcp_tool_usage_log)',
  metering: 'Rate limits and quotas',
  marketCache: 'Market data cache',
  oauth: 'Sign-in from MCP clients (OAuth 2.1; docs/oauth.md)',
  platform: "The original service's management platform (query-pack tokens, usage reports)",
  metrics: 'Prometheus metrics',
};

const INTRO = [
  '# Every setting the service reads, with its default. Copy to .env for ./scripts/serve.sh,',
  '# or set them in the environment for `npm run start:prod`.',
  '# Generated from src/config/settings.ts by `npm run env:example`; edit there, not here.',
];

/** A doc as comment lines of at most WIDTH characters. */
function comment(doc: string): string[] {
  const lines: string[] = [];
  let line = '#';
  for (const word of doc.split(/\s+/).filter(Boolean)) {
    if (line.length + 1 + word.length > WIDTH && line !== '#') {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  return line === '#' ? lines : [...lines, line];
}

function settingsOf(tree: SettingTree): Setting[] {
  return Object.values(tree).flatMap((node) => (isSetting(node) ? [node] : settingsOf(node)));
}

/** .env.example as SETTINGS declare it: each setting's doc (a blank doc shares the one above) and default. */
export function renderEnvExample(): string {
  const lines = [...INTRO];
  for (const [key, node] of Object.entries(SETTINGS)) {
    const title = SECTION_TITLES[key as keyof typeof SETTINGS];
    if (title) lines.push('', `# --- ${title} ---`);
    for (const setting of isSetting(node) ? [node] : settingsOf(node)) {
      if (setting.doc !== '' && !lines.at(-1)?.startsWith('# ---')) lines.push('');
      lines.push(...comment(setting.doc), `${setting.variable}=${setting.fallback ?? ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
