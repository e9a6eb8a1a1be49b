import type { Database, Statement } from 'better-sqlite3';
import type { ShadowRecord, ShadowSink } from '../engine/shadow/shadow.js';
import { where } from './query.js';
import { codesOf } from './recorded-decisions.js';

/**
 * Shadow results, in a table of their own in the ledger file: diagnostic,
 * outside the hash chain (nothing here is signed or verified), one row per
 * shadowed decision with both outcomes and their reason codes.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS shadow_decisions (
  decision_id TEXT NOT NULL,
  time TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  entrypoint TEXT NOT NULL,
  live_bundle TEXT NOT NULL, live_revision TEXT NOT NULL, live_digest TEXT NOT NULL,
  live_decision TEXT NOT NULL, live_reasons TEXT NOT NULL,
  shadow_bundle TEXT NOT NULL, shadow_revision TEXT NOT NULL, shadow_digest TEXT NOT NULL,
  shadow_decision TEXT NOT NULL, shadow_reasons TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS shadow_decisions_time ON shadow_decisions(time_ms);
`;

/** Rows are written in batches, off the decision path, this long after the first of a batch arrived. */
const FLUSH_MS = 250;
/**
 * Rows per transaction: a batch is written in slices, one per event-loop turn,
 * so writing shadow rows never holds the I/O thread for more than a
 * millisecond or so at a time.
 */
const SLICE_ROWS = 128;

/**
 * Writes shadow results to the ledger file in batches (one transaction each),
 * on the writer's connection between its group commits. A batch that cannot be
 * written is dropped and counted: shadow results never stop live decisions.
 */
export class SqliteShadowSink implements ShadowSink {
  private readonly db: Database;
  private readonly insert: Statement;
  private rows: ShadowRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Rows written, and rows lost to a failed batch (for tests and metrics). */
  written = 0;
  lost = 0;

  constructor(db: Database) {
    this.db = db;
    db.exec(DDL);
    this.insert = db.prepare('INSERT INTO shadow_decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  }

  record(r: ShadowRecord): void {
    if (this.closed) return;
    this.rows.push(r);
    this.schedule(FLUSH_MS);
  }

  private schedule(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(false), ms);
    this.timer.unref();
  }

  /** Writes what waits, in slices of SLICE_ROWS one event-loop turn apart; `all` writes everything now (close, tests). */
  flush(all = true): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const rows = all ? this.rows : this.rows.slice(0, SLICE_ROWS);
    this.rows = all ? [] : this.rows.slice(SLICE_ROWS);
    this.write(rows);
    if (this.rows.length > 0) this.schedule(0);
  }

  private write(rows: ShadowRecord[]): void {
    if (rows.length === 0) return;
    try {
      this.db.transaction(() => {
        for (const r of rows) {
          const { live: l, shadow: s } = r;
          this.insert.run(
            r.decisionId,
            r.time,
            Date.parse(r.time),
            r.entrypoint,
            l.bundle,
            l.revision,
            l.digest,
            l.decision,
            JSON.stringify(l.reasonCodes),
            s.bundle,
            s.revision,
            s.digest,
            s.decision,
            JSON.stringify(s.reasonCodes),
          );
        }
      })();
      this.written += rows.length;
    } catch {
      this.lost += rows.length;
    }
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
  }
}

export interface ShadowFilter {
  since?: string;
  until?: string;
}

/** Shadow results, oldest first (none when the file never had shadow bundles). */
export function* shadowRecords(db: Database, filter: ShadowFilter = {}, now = new Date()): Generator<ShadowRecord> {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'shadow_decisions'").get();
  if (!exists) return;
  // The same time bounds as audit queries (shadow_decisions has time_ms too).
  const { sql: clause, params } = where({ ...(filter.since ? { since: filter.since } : {}), ...(filter.until ? { until: filter.until } : {}) }, now);
  const stmt = db.prepare(`SELECT * FROM shadow_decisions ${clause} ORDER BY time_ms, decision_id`);
  for (const row of stmt.iterate(...params) as Iterable<Record<string, string>>) {
    yield {
      decisionId: row.decision_id!,
      time: row.time!,
      entrypoint: row.entrypoint!,
      live: side(row, 'live'),
      shadow: side(row, 'shadow'),
    };
  }
}

function side(row: Record<string, string>, prefix: 'live' | 'shadow'): ShadowRecord['live'] {
  return {
    bundle: row[`${prefix}_bundle`]!,
    revision: row[`${prefix}_revision`]!,
    digest: row[`${prefix}_digest`]!,
    decision: row[`${prefix}_decision`]!,
    reasonCodes: codesOf(row[`${prefix}_reasons`]!),
  };
}
