import { basename } from 'node:path';
import { GavelError } from '../lib/errors.js';
import { isJsonObject, type JsonObject } from '../lib/json.js';
import { readArchive, type ArchiveFiles } from './archive.js';
import { bundleDigest } from './digest.js';
import { parseManifest, type Manifest } from './manifest.js';
import { verifyBundleSignature } from './signature.js';
import type { BundleVerification } from './verification-keys.js';

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
  /** The verification key id that signed it; absent when bundles are not verified. */
  signer?: string;
}

export function bundleNameFromPath(path: string): string {
  return basename(path).replace(/\.tar\.gz$|\.tgz$/, '');
}

/** Parses and checks a bundle archive; throws bundle_invalid naming what is wrong. */
export function parseBundle(name: string, archive: Buffer): Bundle {
  return bundleOfFiles(name, archiveOf(name, archive));
}

/**
 * With a verification configured, the archive's signature is checked first
 * (`signature.ts`) and nothing of an unsigned or mismatched bundle is parsed
 * further; without one, as parseBundle.
 */
export async function readBundle(name: string, archive: Buffer, verification?: BundleVerification): Promise<Bundle> {
  const files = archiveOf(name, archive);
  if (!verification) return bundleOfFiles(name, files);
  const signed = await verifyBundleSignature(name, files, verification);
  return { ...bundleOfFiles(name, files), signer: signed.keyId };
}

function archiveOf(name: string, archive: Buffer): ArchiveFiles {
  try {
    return readArchive(archive);
  } catch (err) {
    throw new GavelError('bundle_invalid', `bundle ${name}: unreadable archive: ${(err as Error).message}`, { cause: err });
  }
}

function bundleOfFiles(name: string, files: ArchiveFiles): Bundle {
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
