import { type KeyObject, createHmac, generateKeyPairSync, sign } from 'node:crypto';

/** An RSA key pair as the management platform holds one: it signs with the private key, the gateway verifies with the public one. */
export function platformKeyPair(): { privateKey: KeyObject; publicKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact JWS over these header and payload, signed RS256 with `privateKey` (whatever `alg` the header claims). */
export function signRs256(header: object, payload: object, privateKey: KeyObject): string {
  const input = `${segment(header)}.${segment(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

/** The classic confusion attack: HS256 keyed with the verifier's public key text. */
export function signHs256(payload: object, secret: string): string {
  const input = `${segment({ alg: 'HS256', typ: 'JWT' })}.${segment(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** `alg: none`, with the empty signature the JWS spec gives it, or with junk in its place. */
export function unsigned(payload: object, signature = ''): string {
  return `${segment({ alg: 'none', typ: 'JWT' })}.${segment(payload)}.${signature}`;
}

/** A platform query-pack token's claims, as the original's skill describes them, for `sub` with a pack of `total` records. */
export function packClaims(sub: string, total: number, changes: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { sub, iat: now, exp: now + 3600, rev: 1, scope: { type: 'mcp_query', quota: { total, used: 0, remaining: total }, node_id: 'node-1' }, ...changes };
}

/** A valid RS256 pack token. */
export function packToken(privateKey: KeyObject, sub: string, total: number, changes: Record<string, unknown> = {}): string {
  return signRs256({ alg: 'RS256', typ: 'JWT' }, packClaims(sub, total, changes), privateKey);
}
