import { createHash, randomBytes } from 'node:crypto';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { submitSignInForm } from './sign-in-form.mjs';

/** What a person types into the sign-in page. */
export interface Credentials {
  email: string;
  password: string;
}

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
    const signIn = await submitSignInForm(authorizationUrl, this.credentials);
    if (signIn.pageStatus !== 200) throw new Error(`sign-in page answered ${signIn.pageStatus}: ${signIn.pageHtml}`);
    this.lastPage = { status: signIn.status, html: signIn.html };
    this.code = signIn.location ? (new URL(signIn.location).searchParams.get('code') ?? undefined) : undefined;
  }
}

/** A whole sign-in over plain HTTP, as a client and its user would do it: register, sign in on the page, redeem the code. */
export async function signInOverHttp(restUrl: string, credentials: Credentials, client: { name: string; redirectUri?: string }) {
  const redirectUri = client.redirectUri ?? 'http://127.0.0.1:33418/callback';
  const registered = await fetch(`${restUrl}/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ client_name: client.name, redirect_uris: [redirectUri] }) });
  if (registered.status !== 201) throw new Error(`register answered ${registered.status}: ${await registered.text()}`);
  const { client_id: clientId } = (await registered.json()) as { client_id: string };
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const query = new URLSearchParams({ client_id: clientId, redirect_uri: redirectUri, response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256' });
  const signIn = await submitSignInForm(`${restUrl}/authorize?${query.toString()}`, credentials);
  const code = new URL(signIn.location ?? 'http://none/').searchParams.get('code');
  if (!code) throw new Error(`sign-in answered ${signIn.status}`);
  const token = await fetch(`${restUrl}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, client_id: clientId, redirect_uri: redirectUri }) });
  const tokens = (await token.json()) as OAuthTokens & { error?: string; error_description?: string };
  if (token.status !== 200) throw new Error(`token answered ${token.status}: ${JSON.stringify(tokens)}`);
  return { clientId, tokens, page: signIn.pageHtml };
}
