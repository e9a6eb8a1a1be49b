import { readFileSync } from 'node:fs';
import { createGunzip, gunzipSync } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { BUNDLE_LIMIT_DEFAULTS, BUNDLE_LIMIT_FLAGS, type BundleLimits, describeBytes } from './limits.js';

/** Files of a gzipped tar archive, keyed by their path from the bundle root ("data.json", "x/policy.wasm"). */
export type ArchiveFiles = Map<string, Buffer>;

/** What the archive reader checks: BundleLimits without the parser's heap. */
export type ArchiveLimits = Pick<BundleLimits, 'maxBytes' | 'maxEntryBytes' | 'maxDataBytes' | 'maxManifestBytes'>;

/**
 * A readable archive gavel will not take (a limit passed, a link, a path out
 * of the root, a path twice); other errors mean the bytes are not a .tar.gz.
 */
export class ArchiveRefusal extends Error {
  override readonly name = 'ArchiveRefusal';
}

/**
 * The path an entry extracts to, from the bundle root, as `tar -x` resolves
 * it: "./a", "/a", "//a", "x/../a" and "x/./../a" are all "a". Undefined when
 * it climbs out of the root ("../a", "x/../../a").
 */
export function normaliseArchivePath(path: string): string | undefined {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..') parts.push(part);
    else if (parts.pop() === undefined) return undefined;
  }
  return parts.join('/');
}

/**
 * Reads every file of a .tar.gz as it inflates, on the threadpool: inflating
 * stops at the first limit passed (the whole stream's size, one entry's size
 * as its header declares it), so a bomb costs at most the limits, never its
 * own size. Only regular files are taken (links, devices, FIFOs refused);
 * paths are normalised, and one that leaves the root, or two entries that
 * extract to the same path, refuse the archive. Rejects with ArchiveRefusal
 * or an Error saying why the bytes do not read.
 */
export function readArchiveBounded(bytes: Buffer, limits: ArchiveLimits = BUNDLE_LIMIT_DEFAULTS): Promise<ArchiveFiles> {
  return new Promise((resolve, reject) => {
    requireGzip(bytes);
    const entries = new EntryReader(limits);
    const gunzip = createGunzip({ chunkSize: 64 * 1024 });
    let inflated = 0;
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      // Stops the inflation where it stands: nothing more is read from the stream.
      gunzip.destroy();
      reject(err);
    };
    gunzip.on('data', (chunk: Buffer) => {
      if (failed) return;
      inflated += chunk.length;
      try {
        if (inflated > limits.maxBytes) throw tooLarge(limits.maxBytes);
        entries.write(chunk);
      } catch (err) {
        fail(err);
      }
    });
    gunzip.on('error', (err) => fail(new Error(`not a gzip stream: ${err.message}`)));
    gunzip.on('end', () => {
      if (failed) return;
      try {
        resolve(entries.end());
      } catch (err) {
        fail(err);
      }
    });
    gunzip.end(bytes);
  });
}

/**
 * As readArchiveBounded, on this thread: the archive is inflated up to
 * `maxBytes` before its entries are read, so an entry past its own limit is
 * refused only then. For archives this process wrote or was handed by its
 * operator (tests, benchmarks, the policy build); bundles from a watched
 * folder, a URL or a Replay call go through readArchiveBounded.
 */
export function readArchive(bytes: Buffer, limits: ArchiveLimits = BUNDLE_LIMIT_DEFAULTS): ArchiveFiles {
  requireGzip(bytes);
  let tar: Buffer;
  try {
    tar = gunzipSync(bytes, { maxOutputLength: limits.maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(limits.maxBytes);
    throw new Error(`not a gzip stream: ${(err as Error).message}`);
  }
  const entries = new EntryReader(limits);
  entries.write(tar);
  return entries.end();
}

export function readArchiveFile(path: string): ArchiveFiles {
  return readArchive(readFileSync(path));
}

function requireGzip(bytes: Buffer): void {
  // OPA bundles are gzip (its reader refuses anything else); tar's own sniffing would also take zstd or brotli, uncounted.
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) throw new Error('not a gzip stream (an OPA bundle is a .tar.gz)');
}

function tooLarge(max: number): ArchiveRefusal {
  return new ArchiveRefusal(`the archive inflates past ${describeBytes(max)} (${BUNDLE_LIMIT_FLAGS.maxBytes})`);
}

const REGULAR = new Set(['File', 'OldFile', 'ContiguousFile']);
const KIND: Record<string, string> = {
  SymbolicLink: 'a symbolic link',
  Link: 'a hard link',
  CharacterDevice: 'a character device',
  BlockDevice: 'a block device',
  FIFO: 'a FIFO',
};

function tooBig(path: string, size: number, max: number, key: keyof ArchiveLimits): string {
  return `${shown(path)} is ${size} bytes, more than ${BUNDLE_LIMIT_FLAGS[key]} allows (${describeBytes(max)})`;
}

/** A name as messages show it: quoted (it may hold anything) and cut short (a pax path may be 1 MiB). */
function shown(path: string): string {
  return JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}…` : path);
}

/** Takes the inflated tar stream chunk by chunk and keeps its files; throws at the first entry it refuses. */
class EntryReader {
  private readonly files: ArchiveFiles = new Map();
  /** Every path seen, with the name the archive gave it first and whether it was a file. */
  private readonly seen = new Map<string, { name: string; file: boolean }>();
  private readonly parser: Parser;
  private failure: Error | undefined;
  private first = true;

  constructor(private readonly limits: ArchiveLimits) {
    // zstd and brotli off: the stream is already inflated, and must not be inflated again unbounded.
    this.parser = new Parser({ strict: true, zstd: false, brotli: false, onReadEntry: (e: ReadEntry) => this.entry(e) });
    this.parser.on('ignoredEntry', (e: ReadEntry) => {
      e.resume();
      this.fail(new ArchiveRefusal(`${shown(e.path)} is a tar entry of type ${e.type}, not a regular file`));
    });
    const failed = (err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err)));
    this.parser.on('warn', (_code: string, message: string | Error) => failed(message));
    this.parser.on('error', failed);
  }

  write(chunk: Buffer): void {
    // A tar inside the gzip starts with a name; a gzip inside it would be inflated again by tar, past every count.
    if (this.first && chunk.length > 0) {
      this.first = false;
      if (chunk[0] === 0x1f) this.fail(new ArchiveRefusal('the archive holds a compressed stream inside its gzip, not a tar'));
    }
    if (!this.failure) this.parser.write(chunk);
    if (this.failure) throw this.failure;
  }

  end(): ArchiveFiles {
    // tar's Parser is synchronous when fed inflated bytes: every entry has been read when end() returns.
    if (!this.failure) this.parser.end();
    if (this.failure) throw this.failure;
    return this.files;
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.parser.abort(err);
  }

  private entry(entry: ReadEntry): void {
    const file = this.failure ? undefined : this.admit(entry);
    if (file) this.collect(entry, file);
    else entry.resume();
  }

  /** Where a regular file goes and its limit; undefined for a folder, or when the entry is refused (the reader then fails). */
  private admit(entry: ReadEntry): { path: string; max: number; key: keyof ArchiveLimits } | undefined {
    const path = normaliseArchivePath(entry.path);
    if (path === undefined) return this.refuse(`${shown(entry.path)} leads out of the bundle root`);
    const kind = entry.type === 'Directory' ? 'folder' : REGULAR.has(entry.type) ? 'file' : undefined;
    if (!kind) return this.refuse(`${shown(entry.path)} is ${KIND[entry.type] ?? `a tar entry of type ${entry.type}`}; a bundle holds regular files only`);
    if (path === '') return kind === 'folder' ? undefined : this.refuse(`${shown(entry.path)} is a file without a name`);
    const before = this.seen.get(path);
    // A folder named twice is harmless (tar writes "./" and "."); anything else twice is two candidates for one path.
    if (before !== undefined && (before.file || kind === 'file')) {
      return this.refuse(
        `${shown(path)} is in the archive twice (as ${shown(before.name)} and ${shown(entry.path)}); which one counts would depend on the reader`,
      );
    }
    this.seen.set(path, { name: entry.path, file: kind === 'file' });
    if (kind === 'folder') return undefined;
    const [max, key] = this.limitOf(path);
    // The header says how big it is: refused before a byte of it is inflated.
    if (entry.size > max) return this.refuse(tooBig(path, entry.size, max, key));
    return { path, max, key };
  }

  private collect(entry: ReadEntry, { path, max, key }: { path: string; max: number; key: keyof ArchiveLimits }): void {
    const chunks: Buffer[] = [];
    let size = 0;
    entry.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // tar reads what the header declared; counted again all the same.
      if (size > max) this.refuse(tooBig(path, size, max, key));
      else chunks.push(chunk);
    });
    entry.on('end', () => {
      if (!this.failure) this.files.set(path, Buffer.concat(chunks, size));
    });
  }

  private refuse(why: string): undefined {
    this.fail(new ArchiveRefusal(why));
    return undefined;
  }

  private limitOf(path: string): [number, keyof ArchiveLimits] {
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (base === '.manifest') return [this.limits.maxManifestBytes, 'maxManifestBytes'];
    if (base === 'data.json' || base === 'data.yaml' || base === 'data.yml') return [this.limits.maxDataBytes, 'maxDataBytes'];
    return [this.limits.maxEntryBytes, 'maxEntryBytes'];
  }
}
