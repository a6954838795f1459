import type { NextFunction, Request, Response } from 'express';
import { echo } from '../common/echo.js';
import { findJsonProblem } from '../common/untrusted-json.js';
import type { PublicUrls } from './public-urls.js';
import { sendRefusalPage } from './sign-in-page.js';

/** RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters; other challenge methods are refused anyway. */
const CODE_CHALLENGE_PATTERN = /^[A-Za-z0-9._~-]{43,128}$/;
const MAX_STATE_LENGTH = 1024;
/** RFC 6749 §3.3: scope tokens of visible ASCII but `"` and `\`, one space apart (or none at all). */
const SCOPE_PATTERN = /^(?:[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*)?$/;
const MAX_SCOPE_LENGTH = 1024;

type Params = Record<string, unknown>;
/** What is wrong with a parameter's value, or undefined when it is fine. */
type Check = (value: string) => string | undefined;

class RequestProblem {
  constructor(
    readonly error: 'invalid_request' | 'invalid_target',
    readonly description: string,
  ) {}
}

const refuse = (res: Response, problem: RequestProblem) => res.status(400).json({ error: problem.error, error_description: problem.description });

/**
 * Text that is not well-formed Unicode (a JSON body with "\ud800") can be neither stored nor
 * compared by ClickHouse: refused before the SDK's handlers, which would answer it with a 500.
 */
export function refuseMalformedInput(req: Request, res: Response, next: NextFunction): void {
  const problem = findJsonProblem(req.body) ?? findJsonProblem(req.query);
  if (problem) return void refuse(res, new RequestProblem('invalid_request', problem.message));
  next();
}

/**
 * On /authorize, whatever the SDK's handler or these checks answer is a page of this service's
 * own: its JSON errors become the refusal page, and a redirect (which the SDK uses to report a
 * bad parameter to the client) becomes one too. The only redirect that leaves /authorize is the
 * one after the user signed in (redirectAfterSignIn): anyone can register a client, so any
 * earlier redirect to its URI would be an open redirect (RFC 9700 §4.11.2).
 */
export function answerWithPagesOnly(_req: Request, res: Response, next: NextFunction): void {
  res.json = (body: unknown) => {
    // Only OAuth errors are sent as JSON here ({error, error_description}, both text).
    const { error, error_description: description } = (body ?? {}) as { error?: string; error_description?: string };
    sendRefusalPage(res, res.statusCode, error ?? 'server_error', description ?? '');
    return res;
  };
  res.redirect = (...args: unknown[]) => {
    const target = args.map(String).at(-1) ?? '';
    const reported = URL.canParse(target) ? new URL(target).searchParams : new URLSearchParams();
    sendRefusalPage(res, 400, reported.get('error') ?? 'invalid_request', reported.get('error_description') ?? 'This request cannot be answered');
  };
  next();
}

/** The redirect with a code, after the user signed in on the page (see answerWithPagesOnly). */
export function redirectAfterSignIn(res: Response, target: string): void {
  res.status(302).location(target).end();
}

/**
 * Every parameter of an authorization request, checked before the SDK's handler, so that nothing
 * it would report by redirecting reaches it (see answerWithPagesOnly): a parameter given twice,
 * of any name (RFC 6749 §3.1), in the query or the form; a known one that is not text or not
 * well-formed; a `resource` that is not this server's MCP endpoint. Unknown parameters given once
 * are ignored, as RFC 6749 §3.1 requires: the SDK never reads them and the page never echoes them.
 */
export function checkAuthorizationRequest(urls: PublicUrls) {
  const checks: Record<string, { required: boolean; check: Check }> = {
    client_id: { required: true, check: () => undefined },
    redirect_uri: { required: false, check: () => undefined },
    response_type: { required: true, check: (value) => (value === 'code' ? undefined : 'response_type must be code') },
    code_challenge_method: { required: true, check: (value) => (value === 'S256' ? undefined : 'code_challenge_method must be S256 (PKCE is required)') },
    code_challenge: { required: true, check: (value) => (CODE_CHALLENGE_PATTERN.test(value) ? undefined : 'code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, -._~') },
    state: { required: false, check: (value) => (value.length <= MAX_STATE_LENGTH ? undefined : `state must be text of at most ${MAX_STATE_LENGTH} characters`) },
    scope: { required: false, check: (value) => (value.length <= MAX_SCOPE_LENGTH && SCOPE_PATTERN.test(value) ? undefined : 'scope must be scope tokens separated by single spaces (RFC 6749 §3.3)') },
    resource: { required: false, check: () => undefined },
    // The sign-in form's own fields, posted with the request.
    email: { required: false, check: () => undefined },
    password: { required: false, check: () => undefined },
  };

  const problemOf = (req: Request): RequestProblem | undefined => {
    const params = (req.method === 'POST' ? req.body : req.query) as Params | undefined;
    const repeated = [req.query as Params, req.method === 'POST' ? params : {}].flatMap((source) => Object.keys(source ?? {}).filter((name) => Array.isArray(source?.[name])));
    if (repeated.length > 0) return new RequestProblem('invalid_request', `${echo(repeated[0])} is given more than once; each parameter may appear once (RFC 6749 §3.1)`);
    for (const [name, { required, check }] of Object.entries(checks)) {
      const value = params?.[name];
      if (value === undefined) {
        if (required) return new RequestProblem('invalid_request', `${name} is required`);
        continue;
      }
      const problem = typeof value === 'string' ? check(value) : `${name} must be text`;
      if (problem) return new RequestProblem('invalid_request', problem);
    }
    return resourceProblem(urls, req, params?.resource);
  };

  return (req: Request, res: Response, next: NextFunction): void => {
    const problem = problemOf(req);
    if (problem) return void refuse(res, problem);
    next();
  };
}

/**
 * /token: a `resource` (RFC 8707) must be this server's MCP endpoint. The SDK's handler reads each
 * parameter as text and refuses anything else; that the grant was for the same resource is the
 * provider's check.
 */
export function checkTokenRequest(urls: PublicUrls) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const problem = resourceProblem(urls, req, (req.body as Params | undefined)?.resource);
    if (problem) return void refuse(res, problem);
    next();
  };
}

function resourceProblem(urls: PublicUrls, req: Request, resource: unknown): RequestProblem | undefined {
  if (resource === undefined || (typeof resource === 'string' && urls.isMcpResource(resource, req))) return undefined;
  return new RequestProblem('invalid_target', `resource ${echo(resource)} is not this server's MCP endpoint (${urls.mcpEndpoint(req)})`);
}
