import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumPath, launchChromium } from '../scripts/lib/chromium.mjs';
import { grantAdmin } from './support/admin-cli.js';
import { connectSdkClient, rawRpc } from './support/mcp.js';
import { describeNeeding } from './support/required-tools.js';
import { type TestApp, startTestApp } from './support/test-app.js';
import { waitForCount } from './support/usage-log.js';

const CHROMIUM = chromiumPath();
const describeWithBrowser = describeNeeding({ Chromium: Boolean(CHROMIUM) }, "scripts/ensure-chromium.sh installs Debian's chromium, or set CHROMIUM_PATH");

/** Screenshots of each page, kept as CI artefacts. */
const SHOTS = resolve(import.meta.dirname, '../.reports/console');

describeWithBrowser('The web console in a real Chromium (e2e)', () => {
  let app: TestApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const email = `console-${Date.now()}@example.com`;
  const password = 'correct horse battery';

  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    app = await startTestApp({ DEMO_DATA: 'true', USAGE_FLUSH_INTERVAL_MS: '50' });
    browser = await launchChromium(CHROMIUM!);
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.restUrl });
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('should register and sign in, then show the keys page', async () => {
    await page.goto(`${app.restUrl}/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await shot('1-sign-in');
    await page.getByRole('button', { name: 'Create one' }).click();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Register and sign in' }).click();
    await page.getByRole('heading', { name: 'MCP API keys' }).waitFor();
    expect(page.url()).toBe(`${app.restUrl}/console/`);
    await page.locator('header', { hasText: email }).waitFor();
    expect(await page.getByText('No keys yet: create one above.').isVisible()).toBe(true);
  });

  it("should show the API's own message for a wrong password", async () => {
    const other = await context.newPage();
    await other.goto(`${app.restUrl}/console/`);
    await other.evaluate('sessionStorage.clear()');
    await other.reload();
    await other.getByLabel('Email').fill(email);
    await other.getByLabel('Password').fill('wrong password');
    await other.getByRole('button', { name: 'Sign in' }).click();
    expect(await other.getByRole('alert').textContent()).toBe('Incorrect email or password');
    await other.close();
  });

  let apiKey: string;

  it('should create a key, show it once with a copy button, and give configs that work', async () => {
    await page.getByLabel('Name').fill('console-key');
    await page.getByLabel('Records per day (empty: default)').fill('1000');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByTestId('new-key');
    await shown.waitFor();
    apiKey = (await shown.textContent())!;
    expect(apiKey).toMatch(/^sk-[0-9a-f]{64}$/);
    await page.getByRole('button', { name: 'Copy key' }).click();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(apiKey);

    const mcpUrl = `${app.mcpUrl}/messages`;
    expect(JSON.parse((await page.locator('pre[data-config="claude-json"]').textContent())!)).toEqual({
      mcpServers: { 'stock-data': { type: 'http', url: mcpUrl, headers: { Authorization: `Bearer ${apiKey}` } } },
    });
    await page.getByRole('tab', { name: 'Claude Code (command)' }).click();
    expect(await page.locator('pre[data-config="claude-cli"]').textContent()).toBe(`claude mcp add --transport http stock-data ${mcpUrl} --header "Authorization: Bearer ${apiKey}"`);
    await page.getByRole('tab', { name: 'Cursor (~/.cursor/mcp.json)' }).click();
    expect(JSON.parse((await page.locator('pre[data-config="cursor"]').textContent())!)).toEqual({ mcpServers: { 'stock-data': { url: mcpUrl, headers: { Authorization: `Bearer ${apiKey}` } } } });
    await shot('2-new-key');
    await page.getByRole('button', { name: 'I saved it' }).click();
    expect(await page.getByTestId('new-key').count()).toBe(0);
    const row = page.locator('tr', { hasText: 'console-key' });
    expect(await row.locator('.status').textContent()).toBe('active');
    expect(await row.textContent()).toContain('records per day: 1000');
  });

  it('should chart and list two MCP calls made with that key', async () => {
    const client = await connectSdkClient(app, apiKey);
    await client.callTool({ name: 'get_latest_bars', arguments: { ts_codes: ['600519.SH', '000001.SZ'] } });
    await client.callTool({ name: 'search_stocks', arguments: { query: '600', limit: 3 } });
    await client.close();
    const keys = await app.rest.post('/api/auth/login').send({ email, password }).expect(200);
    const listed = await app.rest.get('/api/mcp-keys/list').set('Authorization', `Bearer ${keys.body.access_token}`).expect(200);
    expect(await waitForCount(app, listed.body.keys[0].id, 2)).toBe(2);

    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('heading', { name: 'Calls and records per day (UTC)' }).waitFor();
    await page.getByTestId('total-calls').filter({ hasText: '2' }).waitFor();
    expect(await page.getByTestId('total-records').textContent()).toBe('5');
    expect(await page.getByTestId('total-errors').textContent()).toBe('0');
    expect(await page.locator('.chart canvas').count()).toBe(1);
    expect(await page.getByRole('img', { name: /Daily calls and records from .*: 2 calls, 5 records/ }).count()).toBe(1);
    await page.getByTestId('history-total').filter({ hasText: '2 calls' }).waitFor();
    const tools = page.locator('section[aria-labelledby="history-title"] tbody tr td:nth-child(2)');
    expect(await tools.allTextContents()).toEqual(['search_stocks', 'get_latest_bars']);
    await page.getByLabel('Key').selectOption({ label: `console-key (${apiKey.slice(0, 12)}...)` });
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByTestId('history-total').filter({ hasText: '2 calls' }).waitFor();
    await shot('3-usage');
  });

  it('should revoke the key after a confirmation, by keyboard, and the next MCP call gets 401', async () => {
    await page.getByRole('link', { name: 'Keys' }).click();
    const row = page.locator('tr', { hasText: 'console-key' });
    await row.getByRole('button', { name: 'Revoke…' }).press('Enter');
    await row.getByRole('button', { name: 'Revoke console-key' }).press('Enter');
    await row.locator('.status', { hasText: 'revoked' }).waitFor();
    await shot('4-keys-revoked');
    await rawRpc(app, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, apiKey).expect(401);
  });

  it('should show the operator view once an operator made the account an administrator', async () => {
    expect(await page.getByRole('link', { name: 'Operator' }).count()).toBe(0);
    await grantAdmin(app, email);
    await page.reload();
    await page.getByRole('link', { name: 'Operator' }).click();
    const summary = page.locator('section', { hasText: 'Usage across users' });
    await summary.locator('tbody tr').first().waitFor();
    expect(await summary.locator('tbody tr').first().textContent()).toContain(email);
    expect(await summary.locator('tfoot').textContent()).toMatch(/^All25/);
    await page.getByTestId('rate-refusals').waitFor();
    await page.locator('section', { hasText: 'Accounts' }).getByText(`${email} (admin)`).waitFor();
    await shot('5-operator');
  });

  it('should fit a phone screen without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const route of ['keys', 'usage', 'admin']) {
      await page.goto(`${app.restUrl}/console/#/${route}`);
      await page.locator('main h1').waitFor();
      // Browser-side expressions are strings: the tests compile without the DOM types.
      const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
      expect([route, overflow]).toEqual([route, 0]);
    }
    await page.goto(`${app.restUrl}/console/#/usage`);
    await page.getByTestId('total-calls').waitFor();
    await shot('6-usage-phone');
  });
});
