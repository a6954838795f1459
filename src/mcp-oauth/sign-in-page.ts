import type { Response } from 'express';
import { redirectHost } from './redirect-uris.js';

/** What the sign-in page shows and posts back to /authorize. */
export interface SignInPage {
  clientName: string;
  redirectUri: string;
  /** The authorization request's parameters, posted back as hidden fields. */
  fields: Record<string, string | undefined>;
  email?: string;
  error?: string;
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char);

/**
 * Where the page's form may lead: back to /authorize, and from there (a redirect after the form
 * is posted, which browsers also check) to the client's redirect URI.
 */
function formTargets(redirectUri: string): string {
  const target = new URL(redirectUri);
  return `'self' ${target.protocol === 'http:' || target.protocol === 'https:' ? target.origin : target.protocol}`;
}

/** Sends the page with its own strict policy: no scripts at all, no framing, inline styles only. */
export function sendSignInPage(res: Response, status: number, page: SignInPage): void {
  sendPage(res, status, formTargets(page.redirectUri), renderSignInPage(page));
}

/**
 * The answer to an authorization request this service refuses (a malformed or repeated parameter,
 * an unknown client, another resource): a page of its own, never a redirect to the client.
 */
export function sendRefusalPage(res: Response, status: number, error: string, description: string): void {
  sendPage(res, status, "'none'", renderRefusalPage(error, description));
}

function sendPage(res: Response, status: number, formAction: string, html: string): void {
  res.status(status);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', `default-src 'none'; style-src 'unsafe-inline'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`);
  // So the page's own post carries its Origin (no-referrer would send "null"): the login-CSRF check reads it.
  res.setHeader('Referrer-Policy', 'same-origin');
  res.type('html').send(html);
}

function renderRefusalPage(error: string, description: string): string {
  return renderPage(`<h1>This sign-in request cannot be used</h1>
    <p>The app that sent you here asked for something this service refuses:</p>
    <p class="error" role="alert"><code>${escapeHtml(error)}</code>: ${escapeHtml(description)}</p>
    <p class="note">Go back to the app and connect again. If this happens again, the app needs fixing.</p>`);
}

export function renderSignInPage(page: SignInPage): string {
  const hidden = Object.entries(page.fields)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n      ');
  const elsewhere = redirectHost(page.redirectUri);
  const destination = elsewhere
    ? `<p class="warning"><strong>After you sign in you are sent to ${escapeHtml(elsewhere)}.</strong> Anyone can register an app under any name: sign in only if you started this from an app you trust that uses that address.</p>`
    : '<p class="note">After you sign in you return to the app on this computer.</p>';
  return renderPage(`<h1>Sign in to use the stock data tools</h1>
    <p><strong>${escapeHtml(page.clientName)}</strong> asks to call the stock data tools as you. It then uses a key named
      <strong>OAuth: ${escapeHtml(page.clientName)}</strong>, listed with your API keys, metered like them, and revocable any time.</p>
    ${destination}
    ${page.error ? `<p class="error" role="alert">${escapeHtml(page.error)}</p>` : ''}
    <form method="post" action="authorize">
      ${hidden}
      <label for="email">Email</label>
      <input id="email" name="email" type="email" autocomplete="username" required maxlength="254" value="${escapeHtml(page.email ?? '')}">
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="128">
      <button type="submit">Sign in and allow</button>
    </form>`);
}

function renderPage(main: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in: stock data MCP</title>
  <style>
    body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
    main { max-width: 26rem; margin: 3rem auto; padding: 2rem; background: #fff; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }
    h1 { font-size: 1.3rem; margin-top: 0; }
    label { display: block; margin-top: 1rem; font-weight: 600; }
    input[type=email], input[type=password] { width: 100%; box-sizing: border-box; padding: .6rem; margin-top: .3rem; font-size: 1rem; border: 1px solid #9aa3b2; border-radius: 4px; }
    input:focus, button:focus { outline: 3px solid #4c7ef3; outline-offset: 1px; }
    button { margin-top: 1.5rem; width: 100%; padding: .7rem; font-size: 1rem; background: #2453c7; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
    .error { background: #fdecec; color: #8a1c1c; padding: .6rem .8rem; border-radius: 4px; }
    .note { color: #4a5263; font-size: .9rem; }
    .warning { background: #fff1d6; color: #5c3f00; padding: .6rem .8rem; border-radius: 4px; }
  </style>
</head>
<body>
  <main>
    ${main}
  </main>
</body>
</html>
`;
}
