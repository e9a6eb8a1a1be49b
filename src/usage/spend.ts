import type { Database } from 'better-sqlite3';
import type { Scope } from './store.js';

/**
 * What was spent, added up from the chain's settled usage entries (usage-entries.ts): the reports
 * themselves, so the figures are what the ledger proves. A reservation not yet settled is not spend;
 * an entry whose payload a retention job erased counts no tokens.
 */
export interface SpendTotal {
  key: string;
  tokens: number;
  costMicros: number;
  reports: number;
}

export interface SpendDay {
  day: string;
  tokens: number;
  costMicros: number;
}

const COLUMN: Record<Scope, string> = { subject: 'subject_id', team: 'team', cost_center: 'cost_center' };
const DAY_MS = 86_400_000;
const SETTLED = `FROM entries e JOIN payloads p ON p.seq = e.seq WHERE e.kind = 'usage' AND e.decision = 'settled' AND e.time_ms >= ?`;

/** The biggest spenders of a scope since `sinceMs`, by tokens. */
export function topSpenders(db: Database, scope: Scope, sinceMs: number, limit: number): SpendTotal[] {
  const column = COLUMN[scope];
  return db
    .prepare(
      `SELECT e.${column} AS key, SUM(json_extract(p.body, '$.usage.tokens')) AS tokens,
              SUM(json_extract(p.body, '$.usage.cost_micros')) AS costMicros, COUNT(*) AS reports
       ${SETTLED} GROUP BY e.${column} ORDER BY tokens DESC, key LIMIT ?`,
    )
    .all(sinceMs, limit) as SpendTotal[];
}

/** Spend per UTC day (of the call, as budgets count it) since `sinceMs`, for one key of a scope or for all. */
export function spendByDay(db: Database, scope: Scope, key: string | undefined, sinceMs: number): SpendDay[] {
  const byKey = key === undefined ? '' : ` AND e.${COLUMN[scope]} = ?`;
  const rows = db
    .prepare(
      `SELECT COALESCE(json_extract(p.body, '$.usage.at_ms'), e.time_ms) / ${DAY_MS} AS day,
              SUM(json_extract(p.body, '$.usage.tokens')) AS tokens, SUM(json_extract(p.body, '$.usage.cost_micros')) AS costMicros
       ${SETTLED}${byKey} GROUP BY day ORDER BY day`,
    )
    .all(sinceMs, ...(key === undefined ? [] : [key])) as Array<{ day: number; tokens: number | null; costMicros: number | null }>;
  return rows.map((r) => ({ day: new Date(r.day * DAY_MS).toISOString().slice(0, 10), tokens: r.tokens ?? 0, costMicros: r.costMicros ?? 0 }));
}
