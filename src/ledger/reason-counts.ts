import type { Database } from 'better-sqlite3';

export interface ReasonDay {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  code: string;
  count: number;
}

const DAY_MS = 86_400_000;

/**
 * Decisions per UTC day that carried each of `codes` (a tier-down, a budget denial), from `sinceMs` on:
 * one pass over the time index of that range, whatever the ledger's size before it.
 */
export function reasonsByDay(db: Database, codes: readonly string[], sinceMs: number): ReasonDay[] {
  if (codes.length === 0) return [];
  const rows = db
    .prepare(
      `SELECT e.time_ms / ${DAY_MS} AS day, j.value AS code, COUNT(*) AS count
       FROM entries e, json_each(e.reason_codes) j
       WHERE e.time_ms >= ? AND j.value IN (${codes.map(() => '?').join(', ')})
       GROUP BY day, code ORDER BY day, code`,
    )
    .all(sinceMs, ...codes) as Array<{ day: number; code: string; count: number }>;
  return rows.map((r) => ({ day: new Date(r.day * DAY_MS).toISOString().slice(0, 10), code: r.code, count: r.count }));
}
