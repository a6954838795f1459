import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { insertStockList } from './support/stock-list.js';
import { type LoggedInUser, type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';

const SKILL = readFileSync(resolve(import.meta.dirname, '../skills/mcp-api-key-auth/SKILL.md'), 'utf8');
const blocks = (language: string) => [...SKILL.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((match) => match[1]);

/** The skill's settings, pointed at the test's app and user instead of localhost:8000/8001 and you@example.com. */
function withSettings(script: string, settings: Record<string, string>): string {
  let replaced = script;
  for (const [name, value] of Object.entries(settings)) {
    const line = new RegExp(`^export ${name}=.*$`, 'm');
    if (!line.test(replaced)) throw new Error(`the skill does not set ${name}`);
    replaced = replaced.replace(line, `export ${name}='${value}'`);
  }
  return replaced;
}

describe('The Claude Code skill (skills/mcp-api-key-auth/SKILL.md) against a running service (e2e)', () => {
  let app: TestApp;
  let user: LoggedInUser;

  beforeAll(async () => {
    app = await startTestApp({ USAGE_FLUSH_INTERVAL_MS: '50' });
    // The skill's one tool call searches the stock list: no need to seed the whole demo market.
    await insertStockList(app.database);
    user = await registerAndLogin(app);
  });

  afterAll(() => app.stop());

  it('should be a skill: front matter with its name and a description', () => {
    const frontMatter = /^---\nname: (.+)\ndescription: (.+)\n---\n/.exec(SKILL);
    expect(frontMatter?.[1]).toBe('mcp-api-key-auth');
    expect(frontMatter?.[2].length).toBeGreaterThan(100);
  });

  it('should run every shell command in it, in order, without an error, with the outcomes it promises', async () => {
    const script = withSettings(blocks('bash').join('\n'), {
      STOCK_API: app.restUrl,
      STOCK_MCP: `${app.mcpUrl}/messages`,
      STOCK_EMAIL: user.email,
      STOCK_PASSWORD: user.password,
    });
    const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script], { timeout: 60_000 });
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^key id [0-9a-f-]{36}, key sk-[0-9a-f]{9}\.\.\.$/);
    expect(lines[1]).toContain("'search_stocks'");
    expect(lines[2]).toMatch(/^3 rows; \{'table': 'ods_stock_basic', 'record_count': 3, 'limited_by_quota': False, 'cached': False, 'quotas': \[\]\}$/);
    expect(JSON.parse(lines[3])).toMatchObject({ page: 1, page_size: 20 });
    expect(JSON.parse(lines[4])).toMatchObject({ total_calls: expect.any(Number) });
    expect(JSON.parse(lines[5]).keys[0]).toMatchObject({ key_name: 'my-agent', is_active: true });
    expect(JSON.parse(lines[6]).policy).toEqual({ tools: ['search_stocks'], tables: [], calls_per_minute: 60, records_per_day: 100000, records_per_month: null, calls_per_day: null });
    expect(JSON.parse(lines[7])).toEqual({ success: true, message: 'API key revoked' });
    expect(lines[8]).toBe('after revoke: HTTP 401');
    expect(lines[9]).toBe(`WWW-Authenticate: Bearer realm="mcp", resource_metadata="${app.mcpUrl}/.well-known/oauth-protected-resource/messages"`);
    expect(lines[10]).toBe(`sign in at ${app.restUrl}/authorize`);
  });

  it('should give a client config of the form Claude Code accepts', () => {
    const [config] = blocks('json').map((text) => JSON.parse(text) as { mcpServers: Record<string, { type: string; url: string; headers: Record<string, string> }> });
    expect(config.mcpServers['stock-data']).toEqual({ type: 'http', url: 'http://localhost:8001/messages', headers: { Authorization: 'Bearer sk-your-api-key-here' } });
  });
});
