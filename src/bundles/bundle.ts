import { basename } from 'node:path';
import { GavelError } from '../lib/errors.js';
import { isJsonObject, type JsonObject } from '../lib/json.js';
import { readArchive, type ArchiveFiles } from './archive.js';
import { bundleDigest } from './digest.js';
import { parseManifest, type Manifest } from './manifest.js';

/** A verified, parsed OPA bundle: one wasm module, its data document and manifest. */
export interface Bundle {
  /** File name without .tar.gz, e.g. "ai". */
  name: string;
  revision: string;
  digest: string;
  manifest: Manifest;
  wasm: Uint8Array;
  data: JsonObject;
  entrypoints: string[];
}

export function bundleNameFromPath(path: string): string {
  return basename(path).replace(/\.tar\.gz$|\.tgz$/, '');
}

/** Parses and checks a bundle archive; throws bundle_invalid naming what is wrong. */
export function parseBundle(name: string, archive: Buffer): Bundle {
  let files: ArchiveFiles;
  try {
    files = readArchive(archive);
  } catch (err) {
    throw new GavelError('bundle_invalid', `bundle ${name}: unreadable archive: ${(err as Error).message}`, { cause: err });
  }
  const manifest = parseManifest(files.get('.manifest'), name);
  const modules = new Set(manifest.wasm.map((w) => w.module));
  if (modules.size !== 1) throw new GavelError('bundle_invalid', `bundle ${name}: expected one wasm module, found ${modules.size}`);
  const [modulePath] = modules;
  const wasm = files.get(modulePath!);
  if (!wasm) throw new GavelError('bundle_invalid', `bundle ${name}: manifest names ${modulePath} but the archive lacks it`);
  const data = parseData(files.get('data.json'), name);
  return {
    name,
    revision: manifest.revision,
    digest: bundleDigest(wasm, data, manifest.revision),
    manifest,
    wasm,
    data,
    entrypoints: manifest.wasm.map((w) => w.entrypoint),
  };
}

function parseData(bytes: Buffer | undefined, name: string): JsonObject {
  if (!bytes) return {};
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new GavelError('bundle_invalid', `bundle ${name}: data.json is not JSON: ${(err as Error).message}`);
  }
  if (!isJsonObject(data)) throw new GavelError('bundle_invalid', `bundle ${name}: data.json is not an object`);
  return data;
}
