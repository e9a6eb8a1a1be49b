import { GavelError } from '../lib/errors.js';
import { isJsonObject } from '../lib/json.js';

/** The parts of an OPA bundle `.manifest` that gavel relies on. */
export interface Manifest {
  revision: string;
  roots: string[];
  /** Wasm entrypoints, e.g. "gavel/ai/decision", each with the module that implements it. */
  wasm: Array<{ entrypoint: string; module: string }>;
  metadata: Record<string, unknown>;
}

export function parseManifest(bytes: Buffer | undefined, bundleName: string): Manifest {
  if (!bytes) throw invalid(bundleName, 'has no .manifest');
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalid(bundleName, `.manifest is not JSON: ${(err as Error).message}`);
  }
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
  return { entrypoint: value.entrypoint, module: value.module.replace(/^\/+/, '') };
}

function invalid(bundleName: string, what: string): GavelError {
  return new GavelError('bundle_invalid', `bundle ${bundleName}: ${what}`);
}
