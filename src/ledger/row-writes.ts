import type { Database, Statement } from 'better-sqlite3';
import { RowChanged, type RowResult, type RowWrite } from '../engine/ledger.js';

/** Distinct statement texts kept prepared per connection; staged writes use a few dozen. */
const MAX_STATEMENTS = 256;

/**
 * Runs staged row writes (engine/ledger.ts) on one connection, in order, each statement text
 * prepared once: in the ledger's transaction, or alone where a store writes without an entry.
 * A write that changes another number of rows than it expects throws RowChanged.
 */
export class RowWriter {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Database) {}

  run(writes: readonly RowWrite[]): RowResult[] {
    const results: RowResult[] = [];
    for (const w of writes) {
      const stmt = this.statement(w.sql);
      // better-sqlite3 binds an array positionally and an object by name.
      let result: RowResult;
      if (stmt.reader) {
        const rows = stmt.all(w.params) as Record<string, unknown>[];
        result = { changes: rows.length, rows };
      } else {
        result = { changes: stmt.run(w.params).changes, rows: [] };
      }
      if (w.changes !== undefined && result.changes !== w.changes) throw new RowChanged(w.sql, w.changes, result.changes);
      results.push(result);
    }
    return results;
  }

  private statement(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      if (this.statements.size >= MAX_STATEMENTS) this.statements.clear();
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }
}
