#!/usr/bin/env node
// A stand-in for the web browser an MCP client opens to sign in (Claude Code runs $BROWSER with the
// authorization URL): it loads the sign-in page, submits the form with SIGN_IN_EMAIL and
// SIGN_IN_PASSWORD as a person would, and follows the redirect back to the client's callback.
import { appendFileSync } from 'node:fs';

const [url] = process.argv.slice(2);
const log = (line) => process.env.SIGN_IN_LOG && appendFileSync(process.env.SIGN_IN_LOG, `${line}\n`);
const unescapeHtml = (text) => text.replace(/&(amp|lt|gt|quot|#39);/g, (_, entity) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[entity]);

const page = await fetch(url);
const html = await page.text();
const form = new URLSearchParams();
for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) form.set(unescapeHtml(name), unescapeHtml(value));
form.set('email', process.env.SIGN_IN_EMAIL ?? '');
form.set('password', process.env.SIGN_IN_PASSWORD ?? '');
const submitted = await fetch(new URL('/authorize', url), { method: 'POST', body: form, redirect: 'manual' });
const location = submitted.headers.get('location');
log(`sign-in page ${page.status}, form ${submitted.status}, redirect ${location ? new URL(location).origin + new URL(location).pathname : 'none'}`);
if (location) log(`callback ${(await fetch(location)).status}`);
