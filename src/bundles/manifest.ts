import { GavelError } from '../lib/errors.js';
import { isJsonObject } from '../lib/json.js';
import { normaliseArchivePath } from './archive.js';
import type { Parsed } from './documents.js';

/** The parts of an OPA bundle `.manifest` that gavel relies on. */
export interface Manifest {
  revision: string;
  roots: string[];
  /** Wasm entrypoints, e.g. "gavel/ai/decision", each with the module that implements it. */
  wasm: Array<{ entrypoint: string; module: string }>;
  metadata: Record<string, unknown>;
}

/** The manifest from its parsed document (`documents.ts`; undefined when the archive has none), or bundle_invalid saying what is wrong. */
export function manifestFrom(parsed: Parsed<unknown> | undefined, bundleName: string): Manifest {
  if (!parsed) throw invalid(bundleName, 'has no .manifest');
  if ('error' in parsed) throw invalid(bundleName, `.manifest is not JSON: ${parsed.error}`);
  const raw = parsed.value;
  if (!isJsonObject(raw)) throw invalid(bundleName, '.manifest is not an object');
  const revision = typeof raw.revision === 'string' ? raw.revision : '';
  const roots = Array.isArray(raw.roots) ? raw.roots.filter((r): r is string => typeof r === 'string') : [''];
  const wasm = Array.isArray(raw.wasm) ? raw.wasm.map((w) => parseWasmEntry(w, bundleName)) : [];
  if (wasm.length === 0) throw invalid(bundleName, '.manifest declares no wasm entrypoints (build with opa build -t wasm)');
  const metadata = isJsonObject(raw.metadata) ? raw.metadata : {};
  return { revision, roots, wasm, metadata };
}

function parseWasmEntry(value: unknown, bundleName: string): { entrypoint: string; module: string } {
  if (!isJsonObject(value) || typeof value.entrypoint !== 'string' || typeof value.module !== 'string') {
    throw invalid(bundleName, '.manifest wasm entries need string "entrypoint" and "module"');
  }
  // The module is named as a path in the archive ("/policy.wasm"): the same normal form the archive's files are keyed by.
  const module = normaliseArchivePath(value.module);
  if (!module) throw invalid(bundleName, `.manifest names wasm module ${JSON.stringify(value.module)}, which is not a path inside the bundle`);
  return { entrypoint: value.entrypoint, module };
}

function invalid(bundleName: string, what: string): GavelError {
  return new GavelError('bundle_invalid', `bundle ${bundleName}: ${what}`);
}
