#!/usr/bin/env node
// A stand-in for the web browser an MCP client opens to sign in (Claude Code runs $BROWSER with the
// authorization URL): it loads the sign-in page, submits the form with SIGN_IN_EMAIL and
// SIGN_IN_PASSWORD as a person would, and follows the redirect back to the client's callback.
import { appendFileSync } from 'node:fs';
import { submitSignInForm } from './sign-in-form.mjs';

const [url] = process.argv.slice(2);
const log = (line) => process.env.SIGN_IN_LOG && appendFileSync(process.env.SIGN_IN_LOG, `${line}\n`);

const { pageStatus, status, location } = await submitSignInForm(url, { email: process.env.SIGN_IN_EMAIL ?? '', password: process.env.SIGN_IN_PASSWORD ?? '' });
log(`sign-in page ${pageStatus}, form ${status}, redirect ${location ? new URL(location).origin + new URL(location).pathname : 'none'}`);
if (location) log(`callback ${(await fetch(location)).status}`);
