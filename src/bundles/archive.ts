import { readFileSync } from 'node:fs';
import { Parser, type ReadEntry } from 'tar';

/** Files of a gzipped tar archive, keyed by path without a leading "./" or "/". */
export type ArchiveFiles = Map<string, Buffer>;

/** Upper bound on what one archive may expand to, so a hostile bundle cannot exhaust memory. */
export const MAX_ARCHIVE_BYTES = 256 * 1024 * 1024;

export function normaliseArchivePath(path: string): string {
  return path.replace(/^\.?\/+/, '');
}

/** Reads every regular file of a .tar.gz into memory (bundles are small: a wasm module and a data document). */
export function readArchive(bytes: Buffer, maxBytes = MAX_ARCHIVE_BYTES): ArchiveFiles {
  const files: ArchiveFiles = new Map();
  let total = 0;
  let failure: Error | undefined;
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      if (entry.type !== 'File') {
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > maxBytes) {
          failure ??= new Error(`archive expands beyond ${maxBytes} bytes`);
          // Stop inflating: a gzip bomb must not run to its end on the event loop.
          parser.abort(failure);
        } else chunks.push(chunk);
      });
      const path = normaliseArchivePath(entry.path);
      // Two entries of one path: which one a reader sees would depend on the reader. Refuse.
      if (files.has(path)) failure ??= new Error(`archive holds ${path} twice`);
      entry.on('end', () => files.set(path, Buffer.concat(chunks)));
    },
  });
  parser.on('warn', (_code: string, message: string | Error) => {
    failure ??= message instanceof Error ? message : new Error(String(message));
  });
  parser.on('error', (err: Error) => {
    failure ??= err;
  });
  // tar's Parser is synchronous when fed whole buffers, so the map is complete after end().
  parser.end(bytes);
  if (failure) throw failure;
  return files;
}

export function readArchiveFile(path: string): ArchiveFiles {
  return readArchive(readFileSync(path));
}
