import { type KeyObject, createHash, verify } from 'node:crypto';

/**
 * What a verified query-pack token of the original's management platform says: whose it is and
 * how many records its pack holds in all (the original's `scope.quota.total`; undefined when it
 * carries none, as subscription tokens do: the original meters those not at all).
 */
export interface PlatformClaims {
  /** The buyer's username on the platform: the usage log's user_id for their calls, as the original writes it. */
  subject: string;
  packRecords: number | undefined;
  /** From `exp`; undefined when the token sets none (the original accepts those). */
  expiresAt: Date | undefined;
}

/** Longest token read: real ones are well under 2 KB; a longer bearer is nobody's token and costs no parsing. */
const MAX_TOKEN_LENGTH = 8192;
const SEGMENT = '[A-Za-z0-9_-]+';
const TOKEN_PATTERN = new RegExp(`^${SEGMENT}\\.${SEGMENT}\\.${SEGMENT}$`);
/** Scope types the original lets through (jwt_verifier.py); a scope listing markets passes whatever its type. */
const ACCEPTED_SCOPE_TYPES = new Set(['mcp_query', 'realtime_stock', '']);
const MAX_SUBJECT_LENGTH = 256;

/** A compact JWS: three base64url segments. Says nothing of its validity; keeps other bearers (sk- keys) away from the parser. */
export function looksLikePlatformToken(candidate: string): boolean {
  return candidate.length <= MAX_TOKEN_LENGTH && TOKEN_PATTERN.test(candidate);
}

/** The usage log's api_key_id for a token's calls: stable for the token, never the token itself. */
export function platformTokenKeyId(token: string): string {
  return `jwt-${createHash('sha256').update(token).digest('hex').slice(0, 32)}`;
}

/**
 * The claims of a token the platform signed, or undefined. Strict, like the original's PyJWT call
 * with algorithms=["RS256"]: the header must name RS256 (so `none`, HS256 — also HS256 keyed with
 * the public key's text — and any other algorithm are refused before any signature check), the
 * RSASSA-PKCS1-v1_5 SHA-256 signature must verify against the platform's key, `exp` must be in the
 * future and `nbf` (when present) in the past. Anything malformed is refused, never thrown.
 */
export function verifyPlatformToken(token: string, publicKey: KeyObject, now: Date): PlatformClaims | undefined {
  if (!looksLikePlatformToken(token)) return undefined;
  const [headerPart, payloadPart, signaturePart] = token.split('.');
  const header = decodeJsonSegment(headerPart);
  if (header?.alg !== 'RS256' || (header.crit !== undefined)) return undefined;
  const signature = Buffer.from(signaturePart, 'base64url');
  // base64url's last character may carry unused bits: only the one spelling of the signature
  // passes, or a token would have 16 spellings, each a key id of its own (rate limits, call gates).
  if (signature.toString('base64url') !== signaturePart) return undefined;
  if (!verify('sha256', Buffer.from(`${headerPart}.${payloadPart}`), publicKey, signature)) return undefined;
  const payload = decodeJsonSegment(payloadPart);
  return payload && claimsOf(payload, now.getTime() / 1000);
}

type Json = Record<string, unknown>;

function decodeJsonSegment(segment: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isNumericDate = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

function claimsOf(payload: Json, nowSeconds: number): PlatformClaims | undefined {
  const { sub, exp, nbf, scope } = payload;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUBJECT_LENGTH || !sub.isWellFormed()) return undefined;
  if (exp !== undefined && (!isNumericDate(exp) || exp <= nowSeconds)) return undefined;
  if (nbf !== undefined && (!isNumericDate(nbf) || nbf > nowSeconds)) return undefined;
  const packRecords = packOf(scope ?? {});
  if (packRecords === null) return undefined;
  return { subject: sub, packRecords, expiresAt: exp === undefined ? undefined : new Date(exp * 1000) };
}

/**
 * The pack's records from a scope the original accepts; null for a scope it refuses (or a pack it
 * cannot read). A total of 0 or none means no pack, as the original then meters nothing.
 */
function packOf(scope: unknown): number | undefined | null {
  if (!isObject(scope)) return null;
  const type = scope.type ?? '';
  if (typeof type !== 'string' || (!ACCEPTED_SCOPE_TYPES.has(type) && !('markets' in scope))) return null;
  if (scope.quota === undefined) return undefined;
  if (!isObject(scope.quota)) return null;
  const { total } = scope.quota;
  if (total === undefined || total === 0) return undefined;
  return Number.isSafeInteger(total) && (total as number) > 0 ? (total as number) : null;
}
