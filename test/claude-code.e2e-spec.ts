import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createApiKey } from './support/mcp.js';
import { describeNeeding } from './support/required-tools.js';
import { type TestApp, registerAndLogin, startTestApp } from './support/test-app.js';

/** Fetched by scripts/ensure-claude-code.sh (scripts/test.sh runs it); CLAUDE_CODE_BIN points at another. */
const CLAUDE = process.env.CLAUDE_CODE_BIN ?? resolve(import.meta.dirname, '../.data/claude-code/2.1.332/claude');
const describeWithClaude = describeNeeding(
  { [`the Claude Code CLI at ${CLAUDE}`]: existsSync(CLAUDE) },
  "scripts/ensure-claude-code.sh fetches Anthropic's prebuilt linux-x64 CLI, or set CLAUDE_CODE_BIN",
);
/** The "browser" Claude Code opens to sign in: it submits the sign-in form as a person would. */
const SIGN_IN_BROWSER = resolve(import.meta.dirname, 'support/sign-in-browser.mjs');

/** The README's `.mcp.json` for Claude Code, as a user copies it. */
function readmeMcpJson(): string {
  const readme = readFileSync(resolve(import.meta.dirname, '../README.md'), 'utf8');
  const block = /Claude Code \(a project's `\.mcp\.json`[\s\S]*?```json\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error("the README has no .mcp.json block for Claude Code");
  return block[1];
}

describeWithClaude('The real Claude Code CLI connects with the documented configs (e2e)', () => {
  let app: TestApp;
  let home: string;
  let project: string;
  let apiKey: string;

  /** `claude` with a HOME of its own (no login, no model key: `mcp list` only health-checks servers). */
  const claude = async (...args: string[]) => (await promisify(execFile)(CLAUDE, args, { cwd: project, env: { PATH: process.env.PATH, HOME: home }, timeout: 60_000 })).stdout;

  beforeAll(async () => {
    app = await startTestApp();
    apiKey = (await createApiKey(app, (await registerAndLogin(app)).jwt)).api_key;
  });

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'claude-home-'));
    project = join(home, 'project');
    mkdirSync(project);
  });

  afterEach(() => rmSync(home, { recursive: true, force: true }));

  afterAll(() => app.stop());

  it('should show "Connected" for the server added with claude mcp add --transport http, and "Needs authentication" for a bad key', async () => {
    const url = `${app.mcpUrl}/messages`;
    await claude('mcp', 'add', '--transport', 'http', 'stock-data', url, '--header', `Authorization: Bearer ${apiKey}`);
    await claude('mcp', 'add', '--transport', 'http', 'wrong-key', url, '--header', `Authorization: Bearer sk-${'0'.repeat(64)}`);
    const listed = await claude('mcp', 'list');
    expect(listed).toContain(`stock-data: ${url} (HTTP) - ✔ Connected`);
    expect(listed).toContain(`wrong-key: ${url} (HTTP) - ! Needs authentication`);
  });

  it("should show \"Connected\" for the README's .mcp.json, host and key filled in", async () => {
    const config = readmeMcpJson().replace('http://localhost:8001', app.mcpUrl).replace('sk-your-api-key-here', apiKey);
    writeFileSync(join(project, '.mcp.json'), config);
    // Project servers wait for the user's approval; this is the setting that gives it.
    mkdirSync(join(home, '.claude'));
    writeFileSync(join(home, '.claude/settings.json'), JSON.stringify({ enableAllProjectMcpServers: true }));
    expect(await claude('mcp', 'list')).toContain(`stock-data: ${app.mcpUrl}/messages (HTTP) - ✔ Connected`);
  });

  it('should sign in with OAuth through `claude mcp login` (its browser submitting the sign-in form), then show "Connected" with no key configured', async () => {
    const url = `${app.mcpUrl}/messages`;
    const user = await registerAndLogin(app);
    await claude('mcp', 'add', '--transport', 'http', 'stock-oauth', url);
    expect(await claude('mcp', 'list')).toContain(`stock-oauth: ${url} (HTTP) - ! Needs authentication`);

    // `mcp login` wants a terminal (script gives it one) and opens $BROWSER with the authorization URL.
    const signInLog = join(home, 'sign-in.log');
    const { stdout } = await promisify(execFile)('script', ['-qec', `'${CLAUDE}' mcp login stock-oauth`, '/dev/null'], {
      cwd: project,
      env: { PATH: process.env.PATH, HOME: home, BROWSER: SIGN_IN_BROWSER, SIGN_IN_EMAIL: user.email, SIGN_IN_PASSWORD: user.password, SIGN_IN_LOG: signInLog },
      timeout: 60_000,
    });
    expect(readFileSync(signInLog, 'utf8')).toMatch(/^sign-in page 200, form 302, redirect http:\/\/localhost:\d+\/callback\ncallback 200\n$/);
    expect(stdout).toContain('Authenticated with "stock-oauth"');
    expect(await claude('mcp', 'list')).toContain(`stock-oauth: ${url} (HTTP) - ✔ Connected`);
    const keys = await app.rest.get('/api/mcp-keys/list').set('Authorization', `Bearer ${user.jwt}`).expect(200);
    expect(keys.body.keys).toEqual([expect.objectContaining({ key_name: 'OAuth: Claude Code (stock-oauth)', is_active: true })]);
  });
});
