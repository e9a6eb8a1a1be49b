import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Ed25519 signing keys for checkpoints, in the signed-note key conventions of
 * C2SP: key id = first 4 bytes of SHA-256(name || "\n" || 0x01 || raw public key);
 * a verifier key is written "<name>+<hex key id>+<base64(0x01 || raw public key)>".
 */
export interface SigningKey {
  name: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface VerifierKey {
  name: string;
  keyId: Buffer;
  publicKey: KeyObject;
}

/** Signature types of C2SP signed-note: a log's Ed25519 note signature, and a witness's timestamped Ed25519 cosignature (C2SP tlog-cosignature). */
export const ED25519_ALG = 0x01;
export const COSIGNATURE_ALG = 0x04;

/** Reads a PKCS#8 PEM private key, or creates one (mode 0600) when the file is absent. */
export function loadOrCreateKey(path: string, name: string): SigningKey {
  if (!existsSync(path)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  }
  return keyFromPem(readFileSync(path, 'utf8'), name);
}

export function ephemeralKey(name: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { name, privateKey, publicKey };
}

export function keyFromPem(pem: string, name: string): SigningKey {
  const privateKey = createPrivateKey(pem);
  return { name, privateKey, publicKey: createPublicKey(privateKey) };
}

export function rawPublicKey(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('not an Ed25519 public key');
  return Buffer.from(jwk.x, 'base64url');
}

export function keyId(name: string, publicKey: KeyObject, alg = ED25519_ALG): Buffer {
  return createHash('sha256')
    .update(Buffer.concat([Buffer.from(`${name}\n`), Buffer.from([alg]), rawPublicKey(publicKey)]))
    .digest()
    .subarray(0, 4);
}

/** The verifier side of a signing key, without a round trip through its text form. */
export function verifierOf(key: { name: string; publicKey: KeyObject }): VerifierKey {
  return { name: key.name, keyId: keyId(key.name, key.publicKey), publicKey: key.publicKey };
}

export function formatVerifierKey(key: { name: string; publicKey: KeyObject }, alg = ED25519_ALG): string {
  const id = keyId(key.name, key.publicKey, alg).toString('hex');
  const body = Buffer.concat([Buffer.from([alg]), rawPublicKey(key.publicKey)]).toString('base64');
  return `${key.name}+${id}+${body}`;
}

export function parseVerifierKey(text: string, alg = ED25519_ALG): VerifierKey {
  const trimmed = text.trim();
  // Split on the first two '+': a name never holds one, but the base64 key often does.
  const mid = trimmed.indexOf('+');
  const last = trimmed.indexOf('+', mid + 1);
  if (mid <= 0 || last < 0) throw new Error('verifier key must look like <name>+<hex id>+<base64 key>');
  const name = trimmed.slice(0, mid);
  const body = Buffer.from(trimmed.slice(last + 1), 'base64');
  if (body.length !== 33 || body[0] !== alg)
    throw new Error(alg === ED25519_ALG ? 'verifier key is not an Ed25519 key' : 'verifier key is not an Ed25519 cosignature (witness) key');
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: body.subarray(1).toString('base64url') }, format: 'jwk' });
  const id = Buffer.from(trimmed.slice(mid + 1, last), 'hex');
  if (!id.equals(keyId(name, publicKey, alg))) throw new Error('verifier key id does not match its name and key');
  return { name, keyId: id, publicKey };
}
