import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { readArchive } from '../../src/bundles/archive.js';
import { FIXTURE_BUNDLES } from '../helpers/paths.js';

/**
 * Tar archives written header by header (tar's own Header class), so a test
 * can hand gavel what `tar -c` would never write: links, devices, paths with
 * "./", "/" and "..", one path twice, a header that lies about its size.
 */
export interface RawEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO' | 'GNUDumpDir';
  body?: Buffer | string;
  linkpath?: string;
  /** The size the header declares (default: the body's). */
  size?: number;
}

export function headerBlock(e: RawEntry, size: number): Buffer {
  const block = Buffer.alloc(512);
  const header = new Header({
    path: e.path,
    type: e.type ?? 'File',
    size,
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: new Date(0),
    ...(e.linkpath ? { linkpath: e.linkpath } : {}),
  });
  header.encode(block, 0);
  if (header.needPax) throw new Error(`test archive: ${e.path} does not fit a plain header`);
  return block;
}

/** An uncompressed tar: each entry's header, its body padded to 512 bytes, then the two zero blocks. */
export function tarOf(entries: RawEntry[]): Buffer {
  return Buffer.concat([...entries.map(entryBlocks), Buffer.alloc(1024)]);
}

export function tarGz(entries: RawEntry[]): Buffer {
  return gzipSync(tarOf(entries), { level: constants.Z_BEST_COMPRESSION });
}

export const FIXTURE = readFileSync(join(FIXTURE_BUNDLES, 'fixtures.tar.gz'));
const FIXTURE_FILES = readArchive(FIXTURE);
export const FIXTURE_MANIFEST = JSON.parse(FIXTURE_FILES.get('.manifest')!.toString()) as Record<string, unknown>;

/**
 * The fixture bundle (entrypoints fixtures/echo, …) as raw entries with
 * revision `revision` and data.json `{"marker": revision}` (so a test sees
 * which data.json was read), then `extra` appended.
 */
export function fixtureWith(revision: string, extra: RawEntry[] = [], drop: string[] = []): RawEntry[] {
  const entries: RawEntry[] = [];
  const replaced: Record<string, string> = {
    '.manifest': JSON.stringify({ ...FIXTURE_MANIFEST, revision }),
    'data.json': JSON.stringify({ marker: revision }),
  };
  for (const [path, body] of FIXTURE_FILES) {
    if (drop.includes(path)) continue;
    entries.push({ path, body: replaced[path] ?? body });
  }
  return [...entries, ...extra];
}

/**
 * The bomb of issue 24: a bundle of about 180 KB whose data.json inflates to
 * 120 MB, an object holding one array of numbers. On main before the limits, a
 * server that read it (watched folder, or a Replay candidate) died of a V8
 * heap out-of-memory.
 */
export function dataBomb(revision = 'bomb'): Buffer {
  const count = 60 * 1024 * 1024;
  const data = Buffer.alloc(count * 2 + 7, '1,');
  data.write('{"x":[', 0);
  data.write(']}', data.length - 2);
  // "{"x":[" then "1,1,…,1" and "]}" (the byte before "]}" is the last "1").
  data.write('1', data.length - 3);
  return tarGz(fixtureWith(revision, [{ path: 'data.json', body: data }], ['data.json']));
}

/**
 * A gzip stream of `gib` GiB of tar: one header declaring data.json of that
 * size, then the zeros as concatenated gzip members of 1 MiB each (about 1 KB
 * apiece): cheap to build, as slow as its size to inflate whole.
 */
export function endlessDataJson(gib: number): Buffer {
  const size = gib * 1024 * 1024 * 1024;
  const head = gzipSync(
    Buffer.concat(
      fixtureWith('endless', [], ['data.json'])
        .map(entryBlocks)
        .concat(headerBlock({ path: 'data.json' }, size)),
    ),
  );
  const mib = gzipSync(Buffer.alloc(1024 * 1024), { level: constants.Z_BEST_COMPRESSION });
  return Buffer.concat([head, ...Array.from({ length: gib * 1024 }, () => mib)]);
}

/** `n` files of 1 MiB of zeros each (names differ), as concatenated gzip members: n MiB inflated from about n KB. */
export function manyMegabyteFiles(n: number): Buffer {
  const mib = gzipSync(Buffer.alloc(1024 * 1024), { level: constants.Z_BEST_COMPRESSION });
  const parts: Buffer[] = [gzipSync(Buffer.concat(fixtureWith('many').map(entryBlocks)))];
  for (let i = 0; i < n; i++) parts.push(gzipSync(headerBlock({ path: `filler/${i}.bin` }, 1024 * 1024)), mib);
  parts.push(gzipSync(Buffer.alloc(1024)));
  return Buffer.concat(parts);
}

function entryBlocks(e: RawEntry): Buffer {
  const body = Buffer.from(e.body ?? '');
  return Buffer.concat([headerBlock(e, e.size ?? body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}
