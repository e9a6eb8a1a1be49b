import type { Database } from 'better-sqlite3';

/** Request rows are pruned two hours after their decision (history looks back one): older ones may be gone. */
export const REQUEST_HORIZON_MS = 2 * 3_600_000;

export function hasTable(db: Database, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
}
