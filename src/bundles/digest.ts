import { canonicalJson, sha256Hex } from '../lib/canonical.js';
import type { JsonValue } from '../lib/json.js';

/**
 * The policy digest names exactly what was evaluated, independent of how the
 * tarball was packed (tar timestamps and ordering do not matter):
 *
 *   digest = "sha256:" + hex(SHA-256( "gavel-bundle-v1\n"
 *                                     + hex(SHA-256(policy.wasm bytes)) + "\n"
 *                                     + hex(SHA-256(JCS(data document))) + "\n"
 *                                     + revision + "\n" ))
 *
 * JCS is RFC 8785 canonical JSON. Two bundles with the same digest evaluate
 * identically; replaying a recorded decision needs a bundle with its digest.
 */
export function bundleDigest(wasm: Uint8Array, data: JsonValue, revision: string): string {
  return bundleDigestOf(sha256Hex(wasm), sha256Hex(canonicalJson(data)), revision);
}

/** The same digest from the two hashes (hex), the data's taken where the data was parsed (`documents.ts`). */
export function bundleDigestOf(wasmSha256: string, dataJcsSha256: string, revision: string): string {
  return `sha256:${sha256Hex(`gavel-bundle-v1\n${wasmSha256}\n${dataJcsSha256}\n${revision}\n`)}`;
}
