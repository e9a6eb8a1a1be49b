import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { jwtVerify, SignJWT } from 'jose';
import { GavelError } from '../../lib/errors.js';
import { identityProblem } from '../../lib/identity-form.js';

/**
 * One-time sign-in links for the console (`gavel console login --identity ID`). A link carries a
 * JWT (HS256) over the person's identity, with an id, an audience and a short expiry, signed by the
 * console secret: a file beside the ledger that only the operator and the server can read. The
 * server takes each link once (its id is remembered until the link expires).
 */
const AUDIENCE = 'gavel-console';
const ISSUER = 'gavel';

export interface LoginClaims {
  identity: string;
  /** The link's own id (single use). */
  id: string;
  expiresMs: number;
}

/** `<ledger>.console-secret`: created (32 random bytes, mode 0600) when missing. */
export function consoleSecretPath(ledger: string): string {
  return `${ledger}.console-secret`;
}

export function loadConsoleSecret(path: string, create: boolean): Uint8Array {
  if (!existsSync(path)) {
    if (!create) throw new GavelError('config_invalid', `console secret ${path} does not exist: start gavel serve --console-listen first`);
    writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  }
  const text = readFileSync(path, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(text)) throw new GavelError('config_invalid', `console secret ${path} is not 64 hex digits`);
  chmodSync(path, 0o600);
  return Buffer.from(text, 'hex');
}

export async function mintLoginToken(secret: Uint8Array, identity: string, ttlSeconds: number, now = new Date()): Promise<string> {
  const problem = identity.trim() === '' ? 'is empty' : identityProblem(identity);
  if (problem) throw new GavelError('config_invalid', `identity ${JSON.stringify(identity)} ${problem}`);
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'gavel-login+jwt' })
    .setSubject(identity)
    .setJti(randomUUID())
    .setAudience(AUDIENCE)
    .setIssuer(ISSUER)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds)
    .sign(secret);
}

/** The claims of a link this server signed and that has not expired; throws unauthenticated otherwise. */
export async function verifyLoginToken(secret: Uint8Array, token: string, now = new Date()): Promise<LoginClaims> {
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      audience: AUDIENCE,
      issuer: ISSUER,
      typ: 'gavel-login+jwt',
      requiredClaims: ['sub', 'jti', 'exp'],
      currentDate: now,
    });
    return { identity: payload.sub!, id: payload.jti!, expiresMs: payload.exp! * 1000 };
  } catch {
    throw new GavelError('sign_in_invalid', 'this sign-in link is not valid or has expired: ask for a new one (gavel console login)');
  }
}

/** Link ids already taken, each until its link expires (bounded: past that many, links are refused until some expire). */
export class UsedLinks {
  private readonly used = new Map<string, number>();
  constructor(private readonly max = 100_000) {}

  /** True the first time an id is taken. */
  take(claims: LoginClaims, nowMs: number): boolean {
    for (const [id, expires] of this.used) if (expires <= nowMs) this.used.delete(id);
    if (this.used.has(claims.id) || this.used.size >= this.max) return false;
    this.used.set(claims.id, claims.expiresMs);
    return true;
  }
}
