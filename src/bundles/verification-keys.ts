import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GavelError } from '../lib/errors.js';

/** Algorithms a bundle signature may use (OPA's names). HS* keys are shared secrets. */
export const SIGNING_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export interface VerificationKey {
  id: string;
  algorithm: SigningAlgorithm;
  key: KeyObject | Uint8Array;
}

/** Keys bundles must be signed with (by key id), and the scope their signatures must carry. */
export interface BundleVerification {
  keys: ReadonlyMap<string, VerificationKey>;
  scope?: string;
}

export interface KeySpec {
  file: string;
  /** Default "default" (OPA's default key id). */
  id?: string;
  /** Default: RS256 for an RSA key, ES256/ES384/ES512 for an EC key by curve; required for a secret. */
  algorithm?: string;
}

/** Reads each key file; throws config_invalid naming the file when it is unreadable, or the algorithm does not fit the key. */
export function bundleVerification(specs: KeySpec[], scope?: string): BundleVerification {
  const keys = new Map<string, VerificationKey>();
  for (const spec of specs) {
    const id = spec.id ?? 'default';
    if (keys.has(id)) throw new GavelError('config_invalid', `bundle verification key id "${id}" is given twice`);
    keys.set(id, readKey(spec, id));
  }
  return { keys, ...(scope !== undefined && scope !== '' ? { scope } : {}) };
}

function readKey(spec: KeySpec, id: string): VerificationKey {
  let text: Buffer;
  try {
    text = readFileSync(spec.file);
  } catch (err) {
    throw new GavelError('config_invalid', `bundle verification key ${spec.file} cannot be read: ${(err as Error).message}`);
  }
  const alg = spec.algorithm?.toUpperCase();
  if (alg !== undefined && !(SIGNING_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new GavelError('config_invalid', `bundle verification algorithm "${spec.algorithm}" is not one of ${SIGNING_ALGORITHMS.join(', ')}`);
  }
  if (alg?.startsWith('HS')) {
    // A public key as a shared secret would let anyone who has the public key sign bundles.
    if (/-----BEGIN [A-Z ]*(PUBLIC KEY|CERTIFICATE)-----/.test(text.toString('utf8'))) {
      throw new GavelError(
        'config_invalid',
        `bundle verification key ${spec.file} is a public key; ${alg} needs a shared secret (did you mean RS256, PS256 or ES256?)`,
      );
    }
    return { id, algorithm: alg as SigningAlgorithm, key: new Uint8Array(text) };
  }
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch (err) {
    throw new GavelError(
      'config_invalid',
      `bundle verification key ${spec.file} is not a PEM public key (for a shared secret, give an HS algorithm): ${(err as Error).message}`,
    );
  }
  const algorithm = (alg ?? defaultAlgorithm(key, spec.file)) as SigningAlgorithm;
  const family = key.asymmetricKeyType === 'rsa' ? /^(RS|PS)/ : key.asymmetricKeyType === 'ec' ? /^ES/ : /^$/;
  if (!family.test(algorithm))
    throw new GavelError('config_invalid', `bundle verification key ${spec.file} is ${key.asymmetricKeyType}; it cannot verify ${algorithm}`);
  return { id, algorithm, key };
}

function defaultAlgorithm(key: KeyObject, file: string): string {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ES256';
    if (curve === 'secp384r1') return 'ES384';
    if (curve === 'secp521r1') return 'ES512';
  }
  throw new GavelError('config_invalid', `bundle verification key ${file}: cannot tell its algorithm; give one`);
}
