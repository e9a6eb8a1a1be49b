import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { GavelError } from '../lib/errors.js';

/**
 * A ledger file has exactly one writer. The lock is an exclusive SQLite
 * transaction held open on `<ledger>.lock` for the writer's lifetime: the OS
 * releases it when the process dies (even by SIGKILL), so there is no stale
 * lock to clean up, and a second writer — another process or another
 * connection in this one — fails at open time. The holder writes its pid
 * into the ledger's `meta` table, where a refused writer reads it for its message.
 */
export class WriterLock {
  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
  ) {}

  static acquire(ledgerPath: string, holder: () => string | undefined): WriterLock {
    const path = `${ledgerPath}.lock`;
    mkdirSync(dirname(path), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: 0 });
    } catch (err) {
      throw notWritable(ledgerPath, err);
    }
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db.close();
      const pid = holder();
      throw new GavelError(
        'ledger_in_use',
        `ledger ${ledgerPath} already has a writer${pid ? ` (pid ${pid})` : ''}, holding ${path}; one ledger file takes one writer — read-only commands (gavel audit verify, query, timeline) work meanwhile`,
        { cause: err },
      );
    }
    return new WriterLock(db, path);
  }

  release(): void {
    if (this.db.open) this.db.close();
  }
}

/** SQLite says "unable to open database file" without naming it: the writer needs the ledger's folder writable. */
export function notWritable(ledgerPath: string, err: unknown): GavelError {
  return new GavelError(
    'ledger_unavailable',
    `ledger ${ledgerPath} cannot be opened for writing: ${(err as Error).message} (the server writes the file and, beside it in ${dirname(ledgerPath)}, ` +
      'its .lock, -wal and -shm files: the folder must be writable; gavel audit verify, query and timeline read a read-only copy)',
    { cause: err },
  );
}
