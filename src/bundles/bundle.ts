import { basename } from 'node:path';
import { canonicalJson, sha256Hex } from '../lib/canonical.js';
import { GavelError } from '../lib/errors.js';
import { isJsonObject, type JsonObject } from '../lib/json.js';
import { type ArchiveFiles, ArchiveRefusal, readArchive, readArchiveBounded } from './archive.js';
import { bundleDigestOf } from './digest.js';
import { ParserOutOfMemory, parseDocumentsInChild } from './document-parser.js';
import { type BundleDocuments, documentsJob, parseDocuments } from './documents.js';
import { activeBundleLimits, BUNDLE_LIMIT_FLAGS, type BundleLimits, describeBytes } from './limits.js';
import { manifestFrom, type Manifest } from './manifest.js';
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

/**
 * Parses and checks a bundle archive on this thread; throws bundle_invalid
 * naming what is wrong. Within the limits, but parsed where it is called: for
 * bundles the caller trusts (tests, benchmarks); a server reads with readBundle.
 */
export function parseBundle(name: string, archive: Buffer, limits: BundleLimits = activeBundleLimits()): Bundle {
  let files: ArchiveFiles;
  try {
    files = readArchive(archive, limits);
  } catch (err) {
    throw archiveInvalid(name, err);
  }
  return bundleOf(name, files, parseDocuments(documentsJob(files, false)));
}

/**
 * Reads a bundle as a server must: bounded before it is believed. The archive
 * inflates only as far as the limits allow (`archive.ts`); its JSON documents
 * are parsed in a child process with a capped heap (`document-parser.ts`). With a
 * verification configured, the signature is checked (`signature.ts`) before
 * anything of the bundle is used. Throws bundle_invalid naming what is wrong.
 */
export async function readBundle(
  name: string,
  archive: Buffer,
  verification?: BundleVerification,
  limits: BundleLimits = activeBundleLimits(),
): Promise<Bundle> {
  let files: ArchiveFiles;
  try {
    files = await readArchiveBounded(archive, limits);
  } catch (err) {
    throw archiveInvalid(name, err);
  }
  const docs = await parsedOffThread(name, files, verification !== undefined, limits);
  if (!verification) return bundleOf(name, files, docs);
  const signed = await verifyBundleSignature(name, files, docs, verification);
  return { ...bundleOf(name, files, docs), signer: signed.keyId };
}

function archiveInvalid(name: string, err: unknown): GavelError {
  const message = err instanceof Error ? err.message : String(err);
  // A refusal says what was refused; anything else means the bytes are not a bundle archive.
  const what = err instanceof ArchiveRefusal ? message : `unreadable archive: ${message}`;
  return new GavelError('bundle_invalid', `bundle ${name}: ${what}`, { cause: err });
}

async function parsedOffThread(name: string, files: ArchiveFiles, withHashes: boolean, limits: BundleLimits): Promise<BundleDocuments> {
  try {
    return await parseDocumentsInChild(documentsJob(files, withHashes), limits.maxParseHeapBytes);
  } catch (err) {
    if (err instanceof ParserOutOfMemory) {
      throw new GavelError(
        'bundle_invalid',
        `bundle ${name}: its JSON documents need more memory to parse than ${BUNDLE_LIMIT_FLAGS.maxParseHeapBytes} allows (${describeBytes(limits.maxParseHeapBytes)})`,
        { cause: err },
      );
    }
    throw new GavelError('bundle_invalid', `bundle ${name}: its JSON documents could not be parsed: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}

function bundleOf(name: string, files: ArchiveFiles, docs: BundleDocuments): Bundle {
  const manifest = manifestFrom(docs.manifest, name);
  const modules = new Set(manifest.wasm.map((w) => w.module));
  if (modules.size !== 1) throw new GavelError('bundle_invalid', `bundle ${name}: expected one wasm module, found ${modules.size}`);
  const [modulePath] = modules;
  const wasm = files.get(modulePath!);
  if (!wasm) throw new GavelError('bundle_invalid', `bundle ${name}: manifest names ${modulePath} but the archive lacks it`);
  const { data, jcsSha256 } = dataOf(docs, name);
  return {
    name,
    revision: manifest.revision,
    digest: bundleDigestOf(sha256Hex(wasm), jcsSha256, manifest.revision),
    manifest,
    wasm,
    data,
    entrypoints: manifest.wasm.map((w) => w.entrypoint),
  };
}

const EMPTY_DATA_SHA256 = sha256Hex(canonicalJson({}));

function dataOf(docs: BundleDocuments, name: string): { data: JsonObject; jcsSha256: string } {
  const parsed = docs.data;
  if (!parsed) return { data: {}, jcsSha256: EMPTY_DATA_SHA256 };
  if ('error' in parsed) throw new GavelError('bundle_invalid', `bundle ${name}: data.json ${parsed.error}`);
  if (!isJsonObject(parsed.value) || parsed.jcsSha256 === undefined) throw new GavelError('bundle_invalid', `bundle ${name}: data.json is not an object`);
  return { data: parsed.value, jcsSha256: parsed.jcsSha256 };
}
