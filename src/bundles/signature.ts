import { createHash } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, errors as joseErrors } from 'jose';
import { GavelError } from '../lib/errors.js';
import { type ArchiveFiles, normaliseArchivePath } from './archive.js';
import { type BundleDocuments, SIGNATURES_FILE } from './documents.js';
import { isStructured } from './file-hash.js';
import type { BundleVerification } from './verification-keys.js';

export { SIGNATURES_FILE };

/** What a verified signature proves: which configured key signed the bundle. */
export interface SignedBy {
  keyId: string;
}

/**
 * OPA's bundle signature rules (open-policy-agent/opa, bundle/verify.go), with
 * every configured check fatal:
 * - `.signatures.json` holds exactly one JWS (compact form);
 * - its key id is the header's `kid`, else the payload's `keyid` (deprecated);
 *   with neither it is "default", OPA's default key id; it must name a
 *   configured key, and the signature must verify with that
 *   key under the key's own algorithm (the header's `alg` is never trusted to
 *   pick it);
 * - the payload's `scope` must equal the configured scope ("" when none);
 * - its `files` must list every file of the archive except `.signatures.json`,
 *   exactly once, with the SHA-256 OPA computes (`file-hash.ts`): no file
 *   unlisted, none listed that the archive lacks.
 * Throws bundle_invalid naming the file or claim that failed. The JSON files
 * (`.signatures.json`, and the structured files' hashes) come parsed and
 * hashed from the bundle's document parser (`documents.ts`), off this thread.
 */
export async function verifyBundleSignature(name: string, files: ArchiveFiles, docs: BundleDocuments, v: BundleVerification): Promise<SignedBy> {
  const refuse = (why: string) => new GavelError('bundle_invalid', `bundle ${name}: ${why}`);
  if (!files.has(SIGNATURES_FILE) || !docs.signatures) throw refuse(`unsigned (no ${SIGNATURES_FILE}) but a bundle verification key is configured`);
  if ('error' in docs.signatures) throw refuse(`${SIGNATURES_FILE} is not JSON`);
  const doc = docs.signatures.value;
  const signatures = (doc as { signatures?: unknown })?.signatures;
  if (!Array.isArray(signatures) || signatures.length !== 1 || typeof signatures[0] !== 'string') {
    throw refuse(`${SIGNATURES_FILE} must hold exactly one JWT in "signatures"`);
  }
  const token = signatures[0];
  let header: ReturnType<typeof decodeProtectedHeader>;
  let claims: SignatureClaims;
  try {
    header = decodeProtectedHeader(token);
    claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as SignatureClaims;
  } catch {
    throw refuse(`${SIGNATURES_FILE}: the JWT does not parse`);
  }
  // A signature that names no key (opa build with a claims file) is checked with the key id OPA defaults to.
  const named = typeof header.kid === 'string' && header.kid !== '' ? header.kid : typeof claims.keyid === 'string' ? claims.keyid : '';
  const keyId = named === '' ? 'default' : named;
  const key = v.keys.get(keyId);
  if (!key) throw refuse(`signed with key id "${keyId}", which is not a configured verification key (${[...v.keys.keys()].join(', ')})`);
  try {
    // From here on, the claims are those the signature covers, not the ones read to find the key.
    const verified = await compactVerify(token, key.key, { algorithms: [key.algorithm] });
    claims = JSON.parse(new TextDecoder().decode(verified.payload)) as SignatureClaims;
  } catch (err) {
    const why =
      err instanceof joseErrors.JOSEAlgNotAllowed ? `the JWT's alg is not ${key.algorithm}, the algorithm of key "${keyId}"` : 'the signature does not verify';
    throw refuse(`${why} (key id "${keyId}")`);
  }
  const scope = v.scope ?? '';
  if ((claims.scope ?? '') !== scope) throw refuse(`signature scope "${claims.scope ?? ''}" is not the configured scope "${scope}"`);
  checkFiles(files, docs, claims, refuse);
  return { keyId };
}

interface SignatureClaims {
  files?: Array<{ name?: unknown; hash?: unknown; algorithm?: unknown }>;
  keyid?: unknown;
  scope?: string;
}

function checkFiles(files: ArchiveFiles, docs: BundleDocuments, claims: SignatureClaims, refuse: (why: string) => GavelError): void {
  if (!Array.isArray(claims.files)) throw refuse('the signature lists no files');
  const listed = new Map<string, string>();
  for (const f of claims.files) {
    if (typeof f?.name !== 'string' || typeof f.hash !== 'string') throw refuse('the signature lists a file without a name or hash');
    if (f.algorithm !== 'SHA-256') throw refuse(`${f.name}: hashed with ${String(f.algorithm)}; only SHA-256 is accepted`);
    // Named as the archive's own paths are keyed ("/data.json" is "data.json").
    const path = normaliseArchivePath(f.name);
    if (!path) throw refuse(`the signature lists ${JSON.stringify(f.name)}, which is not a path inside the bundle`);
    if (listed.has(path)) throw refuse(`${path} is listed twice in the signature`);
    listed.set(path, f.hash.toLowerCase());
  }
  for (const [path, bytes] of files) {
    if (path === SIGNATURES_FILE) continue;
    const want = listed.get(path);
    if (want === undefined) throw refuse(`${path} is in the bundle but not covered by its signature`);
    const hashed = isStructured(path) ? docs.hashes.get(path) : { value: createHash('sha256').update(bytes).digest('hex') };
    if (!hashed || 'error' in hashed) throw refuse(`${path} does not parse, so its signed hash cannot be checked`);
    const got = hashed.value;
    if (got !== want) throw refuse(`${path}: digest mismatch (signed ${want}, found ${got})`);
    listed.delete(path);
  }
  if (listed.size > 0) throw refuse(`signed file(s) missing from the bundle: ${[...listed.keys()].join(', ')}`);
}
