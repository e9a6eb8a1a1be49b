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
  const preimage = `gavel-bundle-v1\n${sha256Hex(wasm)}\n${sha256Hex(canonicalJson(data))}\n${revision}\n`;
  return `sha256:${sha256Hex(preimage)}`;
}
