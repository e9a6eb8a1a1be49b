import type { Database } from 'better-sqlite3';

export interface ReasonDay {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  code: string;
  count: number;
}

export const DAY_MS = 86_400_000;

/**
 * Decisions of one UTC day (`[dayMs, dayMs + 1 day)`, on the time index) that carried each of `codes`
 * (a tier-down, a budget denial). A row's reason codes are parsed (json_each) only when their text
 * holds one of the codes in quotes, so the pass costs a substring search per row of that day.
 */
export function reasonsOfDay(db: Database, codes: readonly string[], dayMs: number): ReasonDay[] {
  if (codes.length === 0) return [];
  const rows = db
    .prepare(
      `SELECT j.value AS code, COUNT(*) AS count
       FROM entries e, json_each(e.reason_codes) j
       WHERE e.time_ms >= ? AND e.time_ms < ? AND (${codes.map(() => 'instr(e.reason_codes, ?) > 0').join(' OR ')})
         AND j.value IN (${codes.map(() => '?').join(', ')})
       GROUP BY code ORDER BY code`,
    )
    .all(dayMs, dayMs + DAY_MS, ...codes.map((c) => JSON.stringify(c)), ...codes) as Array<{ code: string; count: number }>;
  const day = new Date(dayMs).toISOString().slice(0, 10);
  return rows.map((r) => ({ day, code: r.code, count: r.count }));
}
