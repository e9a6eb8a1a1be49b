import Database from 'better-sqlite3';

/**
 * What an editor with the sqlite3 shell does to a ledger file's state tables: lifts gavel's write
 * protection (and, when named, other triggers), then runs `sql`. Returns the rows it changed.
 */
export function editStateTables(file: string, sql: string, alsoDrop: string[] = []): number {
  const db = new Database(file);
  try {
    for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_writer_%'").all() as Array<{ name: string }>) {
      db.exec(`DROP TRIGGER ${name}`);
    }
    for (const name of alsoDrop) db.exec(`DROP TRIGGER IF EXISTS ${name}`);
    const total = () => (db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    const before = total();
    db.exec(sql);
    return total() - before;
  } finally {
    db.close();
  }
}
