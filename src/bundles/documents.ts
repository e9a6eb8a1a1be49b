import { canonicalJson, sha256Hex } from '../lib/canonical.js';
import { isJsonObject } from '../lib/json.js';
import type { ArchiveFiles } from './archive.js';
import { bundleFileHash, isStructured } from './file-hash.js';

export const SIGNATURES_FILE = '.signatures.json';

/** A JSON document of a bundle as parsed: its value, or why it does not parse. */
export type Parsed<T> = { value: T } | { error: string };

/** The bytes a bundle's JSON documents are parsed from (what crosses to the parser's process). */
export interface DocumentsJob {
  manifest?: Uint8Array;
  data?: Uint8Array;
  signatures?: Uint8Array;
  /** Structured files (data.json, .manifest, patch.json) whose signature hash is wanted. */
  hash: Array<[string, Uint8Array]>;
}

/** What parsing found: everything a bundle's JSON gives gavel, so nothing of it is parsed again on the server's thread. */
export interface BundleDocuments {
  manifest?: Parsed<unknown>;
  /** data.json; when it is an object, also the SHA-256 of its canonical JSON (the digest's data part, `digest.ts`); an error completes "data.json …". */
  data?: Parsed<unknown> & { jcsSha256?: string };
  signatures?: Parsed<unknown>;
  /** Signature hashes (`file-hash.ts`) of the structured files asked for. */
  hashes: Map<string, Parsed<string>>;
}

/** The job for a bundle's files; signature hashes only when a signature will be checked. */
export function documentsJob(files: ArchiveFiles, withHashes: boolean): DocumentsJob {
  const job: DocumentsJob = { hash: [] };
  const manifest = files.get('.manifest');
  const data = files.get('data.json');
  const signatures = files.get(SIGNATURES_FILE);
  if (manifest) job.manifest = manifest;
  if (data) job.data = data;
  if (signatures) job.signatures = signatures;
  if (withHashes) for (const [path, bytes] of files) if (path !== SIGNATURES_FILE && isStructured(path)) job.hash.push([path, bytes]);
  return job;
}

/**
 * Parses a bundle's JSON documents. Runs in a child process with a capped heap
 * (`document-parser.ts`) for every bundle a server reads, so a document that
 * needs more memory than that ends the child, not the server.
 */
export function parseDocuments(job: DocumentsJob): BundleDocuments {
  // Hashes first: lossless-json's tree of data.json is the heaviest thing built here, and is garbage before JSON.parse builds the next.
  const hashes = new Map<string, Parsed<string>>();
  for (const [path, bytes] of job.hash)
    hashes.set(
      path,
      attempt(() => bundleFileHash(path, asBuffer(bytes))),
    );
  const docs: BundleDocuments = { hashes };
  if (job.signatures) docs.signatures = parseJson(job.signatures);
  if (job.manifest) docs.manifest = parseJson(job.manifest);
  if (job.data) docs.data = parseData(job.data);
  return docs;
}

/** An error here completes "data.json …". */
function parseData(bytes: Uint8Array): NonNullable<BundleDocuments['data']> {
  const parsed = parseJson(bytes);
  if ('error' in parsed) return { error: `is not JSON: ${parsed.error}` };
  const value = parsed.value;
  if (!isJsonObject(value)) return parsed;
  const hash = attempt(() => sha256Hex(canonicalJson(value)));
  if ('error' in hash) return { error: `cannot be put in canonical form: ${hash.error}` };
  return { value, jcsSha256: hash.value };
}

function parseJson(bytes: Uint8Array): Parsed<unknown> {
  return attempt(() => JSON.parse(asBuffer(bytes).toString('utf8')) as unknown);
}

function attempt<T>(f: () => T): Parsed<T> {
  try {
    return { value: f() };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/** A Buffer sent to another process or thread arrives as a plain Uint8Array: the same bytes, seen as a Buffer again. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
