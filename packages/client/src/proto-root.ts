import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Where the .proto files are at run time. An installed package ships them in `proto/` beside
 * `dist/` (its prepack copies them: scripts/copy-protos.mjs); in a checkout, `packages/client/proto/`
 * exists only after a pack, so the repository's own `proto/` is the fallback.
 */
export function findProtoRoot(candidates: string[] = defaultCandidates()): string {
  const found = candidates.find((dir) => existsSync(`${dir}/gavel/v1/decision.proto`));
  if (!found) throw new Error(`gavel's .proto files were not found; looked in ${candidates.join(', ')}`);
  return found;
}

function defaultCandidates(): string[] {
  return [fileURLToPath(new URL('../proto', import.meta.url)), fileURLToPath(new URL('../../../proto', import.meta.url))];
}

export const PROTO_ROOT = findProtoRoot();
