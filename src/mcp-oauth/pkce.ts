import { createHash } from 'node:crypto';

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const VERIFIER_PATTERN = /^[A-Za-z0-9._~-]{43,128}$/;

/** Whether `verifier` is the one behind an S256 `challenge`: BASE64URL(SHA256(verifier)), RFC 7636 §4.6. */
export function verifiesChallenge(verifier: string | undefined, challenge: string): boolean {
  return verifier !== undefined && VERIFIER_PATTERN.test(verifier) && createHash('sha256').update(verifier).digest('base64url') === challenge;
}
