import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';

/** What a person types into the sign-in page. */
export interface Credentials {
  email: string;
  password: string;
}

/** The sign-in page's form: its hidden fields, as a browser would post them back. */
export function formFieldsOf(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields[unescapeHtml(name)] = unescapeHtml(value);
  return fields;
}

const unescapeHtml = (text: string) => text.replace(/&(amp|lt|gt|quot|#39);/g, (_, entity: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[entity] ?? '');

/**
 * The SDK's OAuthClientProvider for a client that keeps everything in memory and "opens the
 * browser" by fetching the sign-in page and submitting its form over HTTP, as a person would:
 * the code from the redirect is kept for finishAuth().
 */
export class FormSigningInProvider implements OAuthClientProvider {
  information: OAuthClientInformationMixed | undefined;
  savedTokens: OAuthTokens | undefined;
  /** The code the last sign-in redirected back with. */
  code: string | undefined;
  /** The last sign-in page's status and text (an error, when the sign-in failed). */
  lastPage: { status: number; html: string } | undefined;
  private verifier = '';

  constructor(
    private readonly credentials: Credentials,
    readonly clientName = 'Claude Code',
    readonly redirectUrl = 'http://127.0.0.1:33418/callback',
  ) {}

  get clientMetadata(): OAuthClientMetadata {
    return { client_name: this.clientName, redirect_uris: [this.redirectUrl], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }

  clientInformation() {
    return this.information;
  }

  saveClientInformation(information: OAuthClientInformationMixed): void {
    this.information = information;
  }

  tokens() {
    return this.savedTokens;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.savedTokens = tokens;
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }

  codeVerifier(): string {
    return this.verifier;
  }

  async redirectToAuthorization(authorizationUrl: URL): Promise<void> {
    const page = await fetch(authorizationUrl);
    const html = await page.text();
    if (page.status !== 200) throw new Error(`sign-in page answered ${page.status}: ${html}`);
    const form = new URLSearchParams({ ...formFieldsOf(html), ...this.credentials });
    const submitted = await fetch(new URL('/authorize', authorizationUrl), { method: 'POST', body: form, redirect: 'manual' });
    this.lastPage = { status: submitted.status, html: await submitted.text() };
    const location = submitted.headers.get('location');
    this.code = location ? (new URL(location).searchParams.get('code') ?? undefined) : undefined;
  }
}
