import type { NextFunction, Request, Response } from 'express';
import { echo } from '../common/echo.js';
import { findJsonProblem } from '../common/untrusted-json.js';

/** RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters; other challenge methods are refused anyway. */
const CODE_CHALLENGE_PATTERN = /^[A-Za-z0-9._~-]{43,128}$/;
const MAX_STATE_LENGTH = 1024;

const invalidRequest = (res: Response, description: string) => res.status(400).json({ error: 'invalid_request', error_description: description });

/**
 * Text that is not well-formed Unicode (a JSON body with "\ud800") can be neither stored nor
 * compared by ClickHouse: refused before the SDK's handlers, which would answer it with a 500.
 */
export function refuseMalformedInput(req: Request, res: Response, next: NextFunction): void {
  const problem = findJsonProblem(req.body) ?? findJsonProblem(req.query);
  if (problem) return void invalidRequest(res, problem.message);
  next();
}

/**
 * The authorization request's own parameters, checked before the SDK's handler: the SDK reports
 * their errors by redirecting to the client's redirect URI, and a client anyone can register
 * would turn that into an open redirect (RFC 9700 §4.11.2). Here they are a 400 page instead; a
 * redirect happens only after the user signed in.
 */
export function checkAuthorizationRequest(req: Request, res: Response, next: NextFunction): void {
  const params = (req.method === 'POST' ? req.body : req.query) as Record<string, unknown> | undefined;
  const value = (name: string) => params?.[name];
  if (value('response_type') !== 'code') return void invalidRequest(res, 'response_type must be code');
  if (value('code_challenge_method') !== 'S256') return void invalidRequest(res, 'code_challenge_method must be S256 (PKCE is required)');
  const challenge = value('code_challenge');
  if (typeof challenge !== 'string' || !CODE_CHALLENGE_PATTERN.test(challenge)) return void invalidRequest(res, 'code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, -._~');
  const state = value('state');
  if (state !== undefined && (typeof state !== 'string' || state.length > MAX_STATE_LENGTH)) return void invalidRequest(res, `state must be text of at most ${MAX_STATE_LENGTH} characters`);
  const resource = value('resource');
  if (resource !== undefined && (typeof resource !== 'string' || !URL.canParse(resource))) return void invalidRequest(res, `resource ${echo(resource)} is not a URL`);
  next();
}
