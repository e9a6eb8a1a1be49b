import { existsSync, readFileSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { defaultKeyPath, ledgerConfig } from './config.js';
import { keyFromPem, parseVerifierKey, verifierOf, type VerifierKey } from './keys.js';
import { readOrigin } from './meta.js';

/**
 * The key that verifies a ledger file opened read-only: the one given (a verifier key, or a file
 * holding one), else derived from the signing key file (`--key`, or `<ledger>.key`) when it is there.
 * `key` is undefined when neither is; `keyPath` names the file that was looked for.
 */
export function verifierKeyOfFile(
  db: Database,
  ledgerPath: string,
  o: { pubkey?: string | undefined; keyFile?: string | undefined } = {},
): { key: VerifierKey | undefined; keyPath: string | undefined } {
  const keyPath = defaultKeyPath(ledgerConfig(ledgerPath, o.keyFile ? { keyPath: o.keyFile } : {}));
  if (o.pubkey) return { key: parseVerifierKey(existsSync(o.pubkey) ? readFileSync(o.pubkey, 'utf8') : o.pubkey), keyPath };
  const origin = readOrigin(db);
  if (keyPath && existsSync(keyPath)) return { key: verifierOf(keyFromPem(readFileSync(keyPath, 'utf8'), origin)), keyPath };
  return { key: undefined, keyPath };
}
