// Time to first render of the console's usage page with 10,000 calls in range: a real Chromium
// (playwright-core) loads /console/#/usage signed in, until the totals, the chart and the first
// history page are on screen.
import { createApiKey, registerAndLogin } from '../../scripts/lib/rest-client.mjs';
import { chromiumPath, launchChromium } from '../../scripts/lib/chromium.mjs';
import { table } from '../lib/markdown.mjs';
import { formatInt, formatNumber, percentile } from '../lib/stats.mjs';

const CALLS = 10_000;
const DAYS = 30;
const LOADS = 10;
export const TARGET_MS = 1000;

/** The user's calls, spread from DAYS - 1 days ago up to now: all in the page's default range (the last DAYS days, today included). */
function callsSql(userId, keyId, endSeconds) {
  const span = (DAYS - 1) * 86_400;
  return `INSERT INTO mcp_tool_usage_log
    (id, user_id, api_key_id, tool_name, service_prefix, table_name, arguments, record_count, duration_ms, is_error, error_message, created_at)
    SELECT UUIDNumToString(MD5(concat('bench-console-', toString(number)))), '${userId}', '${keyId}',
      arrayElement(['get_daily_bars', 'search_stocks', 'get_latest_bars'], number % 3 + 1), 'tushare_daily',
      arrayElement(['ods_daily', 'ods_stock_basic', 'ods_daily'], number % 3 + 1), '{}', toUInt32(number % 100), toUInt32(1 + number % 40),
      toUInt8(number % 40 = 0), if(number % 40 = 0, 'the data store did not answer', ''),
      toDateTime(toUInt32(${endSeconds - span} + intDiv(number * ${span}, ${CALLS})))
    FROM system.numbers LIMIT ${CALLS}`;
}

export const consoleRender = {
  title: 'Console: usage page, first render',
  async measure(ctx) {
    const executable = chromiumPath();
    if (!executable) return { skipped: 'no Chromium on this machine (scripts/ensure-chromium.sh installs it)' };
    const { restUrl } = ctx.gateway;
    const user = await registerAndLogin(restUrl, `bench-console-${ctx.clickhouse.database}@example.com`);
    const { keyId } = await createApiKey(restUrl, user.jwt, 'console-bench');
    if (!/^[0-9a-f-]{36}$/.test(keyId)) throw new Error(`unexpected key id ${JSON.stringify(keyId)}`); // it goes into the SQL below
    await ctx.clickhouse.client.command({ query: callsSql(user.id, keyId, Math.floor(Date.now() / 1000)) });
    const browser = await launchChromium(executable);
    try {
      const times = [];
      for (let load = 0; load < LOADS + 1; load++) {
        const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
        await context.addInitScript((token) => sessionStorage.setItem('stock-mcp-console-jwt', token), user.jwt);
        const page = await context.newPage();
        const started = performance.now();
        await page.goto(`${restUrl}/console/#/usage`);
        await page.getByTestId('total-calls').filter({ hasText: formatInt(CALLS) }).waitFor();
        await page.locator('.chart canvas').waitFor();
        await page.locator('section[aria-labelledby="history-title"] tbody tr').first().waitFor();
        // The first load warms ClickHouse's and the browser's caches, as a user's second visit would be.
        if (load > 0) times.push(performance.now() - started);
        await context.close();
      }
      return { times };
    } finally {
      await browser.close();
    }
  },
  render(data) {
    if (data.skipped) return `Skipped: ${data.skipped}.`;
    const p50 = percentile(data.times, 50);
    const max = Math.max(...data.times);
    return [
      `${formatInt(CALLS)} calls over ${DAYS} days for one user; Chromium (headless) loads \`/console/#/usage\` signed in, ${LOADS} times after one warm-up load, each in a fresh browser context (no page cache). Timed from navigation until the totals, the chart's canvas and the first history page are on screen.`,
      '',
      table(['', 'p50', 'max', 'target'], [['time to first render (ms)', formatNumber(p50), formatNumber(max), `≤ ${TARGET_MS}`]], ['l', 'r', 'r', 'r']),
      '',
      max <= TARGET_MS ? 'Within the target on every load.' : `**Over the target** on ${data.times.filter((time) => time > TARGET_MS).length} of ${LOADS} loads.`,
    ].join('\n');
  },
};
