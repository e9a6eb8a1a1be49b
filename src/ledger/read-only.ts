import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';

/** Tests only: the direct connection's first read fails as SQLite's would in a read-only folder (which root cannot make). */
export interface ReadOnlyFaults {
  directRead?: () => void;
}

/**
 * Opens a ledger for reading only, also where an auditor's evidence usually is:
 * a read-only copy. SQLite opens a WAL-mode file read-only only when it may
 * create the `-shm` file beside it; a read-only file in a read-only directory
 * fails with "attempt to write a readonly database". Then the file (and its
 * `-wal`, if one was copied with it) is read from a private temporary copy,
 * removed when the connection closes. The original is never written.
 */
export function openLedgerReadOnly(path: string, faults: ReadOnlyFaults = {}): Database.Database {
  const direct = new Database(path, { readonly: true, fileMustExist: true });
  try {
    faults.directRead?.();
    direct.prepare('SELECT 1 FROM sqlite_master LIMIT 1').get();
    return direct;
  } catch (err) {
    direct.close();
    if (!isReadOnlyFailure(err)) throw err;
  }
  const dir = mkdtempSync(join(tmpdir(), 'gavel-ledger-'));
  const copy = join(dir, basename(path));
  try {
    copyFileSync(path, copy);
    if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${copy}-wal`);
    const db = new Database(copy, { readonly: true, fileMustExist: true });
    const close = db.close.bind(db);
    db.close = () => {
      const closed = close();
      rmSync(dir, { recursive: true, force: true });
      return closed;
    };
    return db;
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function isReadOnlyFailure(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN');
}
