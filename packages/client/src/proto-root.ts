import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The gavel protos the client calls: the same list scripts/gen-types.mjs generates types for. */
export const PROTO_FILES = ['gavel/v1/decision.proto', 'gavel/v1/usage.proto', 'gavel/v1/approval.proto', 'gavel/v1/audit.proto'];
/** The vendored google.rpc protos its errors' details are read with. */
export const STATUS_PROTOS = ['google/rpc/status.proto', 'google/rpc/error_details.proto'];

/**
 * Where the .proto files are at run time: the first candidate that holds every one the client
 * loads. An installed package ships them in `proto/` beside `dist/` (its prepack copies them:
 * scripts/copy-protos.mjs); in a checkout, `packages/client/proto/` exists only after a pack, so
 * the repository's own `proto/` is the fallback (and is used when a pack left an incomplete copy).
 * Run from its TypeScript source (tests, the examples), the client reads the repository's protos
 * first: a copy a pack left behind would be stale as soon as a proto changes.
 */
export function findProtoRoot(candidates: string[] = defaultCandidates()): string {
  const found = candidates.find((dir) => [...PROTO_FILES, ...STATUS_PROTOS].every((f) => existsSync(join(dir, f))));
  if (!found) throw new Error(`gavel's .proto files were not found; looked in ${candidates.join(', ')}`);
  return found;
}

function defaultCandidates(): string[] {
  const packaged = fileURLToPath(new URL('../proto', import.meta.url));
  const repository = fileURLToPath(new URL('../../../proto', import.meta.url));
  return import.meta.url.endsWith('.ts') ? [repository, packaged] : [packaged, repository];
}

export const PROTO_ROOT = findProtoRoot();
