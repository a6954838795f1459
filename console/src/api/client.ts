import createClient from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type KeySummary = Schemas['KeySummaryDto'];

const TOKEN_KEY = 'stock-mcp-console-jwt';

/** The REST API on this origin, typed from its OpenAPI document (schema.d.ts, generated). */
export const api = createClient<paths>({ baseUrl: '' });

let token: string | null = sessionStorage.getItem(TOKEN_KEY);
let onSignedOut: () => void = () => undefined;

api.use({
  onRequest({ request }) {
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    // An expired or refused login: back to the sign-in page.
    if (response.status === 401 && token) signOut();
    return response;
  },
});

export function isSignedIn(): boolean {
  return token !== null;
}

export function signIn(accessToken: string): void {
  token = accessToken;
  sessionStorage.setItem(TOKEN_KEY, accessToken);
}

export function signOut(): void {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  onSignedOut();
}

export function whenSignedOut(callback: () => void): void {
  onSignedOut = callback;
}

/** The API's `detail` (its one error shape), as people can read it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The data of an openapi-fetch call, or an ApiError with the API's own words. */
export async function data<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch {
    throw new ApiError(0, 'The service could not be reached; check your connection and try again.');
  }
  if (result.response.ok && result.data !== undefined) return result.data;
  const detail = (result.error as { detail?: unknown } | undefined)?.detail;
  throw new ApiError(result.response.status, typeof detail === 'string' ? detail : `The service answered ${result.response.status}`);
}
