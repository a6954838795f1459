// What a person does on the sign-in page (/authorize): load it, fill in the form, submit it.
// Used by the tests' OAuth clients and by sign-in-browser.mjs, the "browser" Claude Code opens.

/** The text of escaped page content. */
export const unescapeHtml = (text) => text.replace(/&(amp|lt|gt|quot|#39);/g, (_, entity) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[entity] ?? '');

/** The sign-in page's form: its hidden fields, as a browser would post them back. */
export function formFieldsOf(html) {
  const fields = {};
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields[unescapeHtml(name)] = unescapeHtml(value);
  return fields;
}

/**
 * Loads the sign-in page at `authorizationUrl` and submits its form with `credentials`, without
 * following the redirect: the page, and the submitted form's answer and where it leads.
 */
export async function submitSignInForm(authorizationUrl, credentials) {
  const page = await fetch(authorizationUrl);
  const pageHtml = await page.text();
  const form = new URLSearchParams({ ...formFieldsOf(pageHtml), ...credentials });
  const submitted = await fetch(new URL('/authorize', authorizationUrl), { method: 'POST', body: form, redirect: 'manual' });
  return { pageStatus: page.status, pageHtml, status: submitted.status, html: await submitted.text(), location: submitted.headers.get('location') ?? undefined };
}
