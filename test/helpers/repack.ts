import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { create } from 'tar';
import { readArchive } from '../../src/bundles/archive.js';
import { tempDir } from './paths.js';

/** A bundle archive rebuilt with some files changed (a Buffer), added, or removed (null): what a tamperer does. */
export function repack(archive: Buffer, changes: Record<string, Buffer | string | null>): Buffer {
  const files = readArchive(archive);
  for (const [path, content] of Object.entries(changes)) {
    if (content === null) files.delete(path);
    else files.set(path, Buffer.from(content));
  }
  const dir = tempDir('gavel-repack-');
  for (const [path, bytes] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
  }
  const out = join(dir, '..', `${dir.split('/').pop()}.tar.gz`);
  create({ gzip: true, cwd: dir, sync: true, file: out, portable: true }, [...files.keys()]);
  return readFileSync(out);
}
