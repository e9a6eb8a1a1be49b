import type { Database, Statement } from 'better-sqlite3';

/**
 * Tables only this server's writing connection may write (the serving thread's, or with
 * --ledger-thread the writer thread's). Each gets triggers that call
 * `gavel_writer()`, a function registered on that connection alone (the serving
 * thread's read connection writes nothing at all: query_only):
 * on any other connection (the sqlite3 shell, another program) the function does
 * not exist, so an INSERT, UPDATE or DELETE on the table fails to prepare. An
 * editor can still drop the triggers first, but that changes the file's schema
 * cookie (`PRAGMA schema_version`), which the state guard watches (state/guard.ts):
 * the tables are then checked against the chain before they are read again.
 */
export const WRITER_FUNCTION = 'gavel_writer';

export function registerWriter(db: Database): void {
  db.function(WRITER_FUNCTION, { deterministic: false, varargs: false }, () => 1);
}

/** Adds the triggers to each table that exists (idempotent). */
export function protectTables(db: Database, tables: readonly string[]): void {
  for (const table of tables) {
    if (!db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table)) continue;
    for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
      db.exec(`CREATE TRIGGER IF NOT EXISTS ${table}_writer_${op.toLowerCase()} BEFORE ${op} ON ${table} BEGIN SELECT ${WRITER_FUNCTION}(); END;`);
    }
  }
}

const cookieReads = new WeakMap<Database, Statement<[], number>>();

/**
 * The schema cookie: it changes whenever anyone changes the schema (a trigger dropped, a table made).
 * Read before every state read, so the statement is prepared once per connection (`db.pragma()`
 * prepares a new one on each call).
 */
export function schemaVersion(db: Database): number {
  let read = cookieReads.get(db);
  if (read === undefined) {
    read = db.prepare<[], number>('PRAGMA schema_version').pluck();
    cookieReads.set(db, read);
  }
  return read.get() as number;
}
