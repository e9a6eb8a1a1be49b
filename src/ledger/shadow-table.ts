import type { Database } from 'better-sqlite3';
import type { RowWrite } from '../engine/ledger.js';
import { RowWriter } from './row-writes.js';
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

/** The statement of one shadow row. */
const INSERT = 'INSERT INTO shadow_decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

/** Writes rows in a transaction of their own: the ledger's writer (ServedLedger.writeRows), or `db` itself. */
export type RowsWriter = (writes: readonly RowWrite[]) => void | Promise<void>;

/**
 * Writes shadow results to the ledger file in batches (one transaction each),
 * by the ledger's writer between its group commits. A batch that cannot be
 * written is dropped and counted: shadow results never stop live decisions.
 */
export class SqliteShadowSink implements ShadowSink {
  private readonly writeRows: RowsWriter;
  private rows: ShadowRecord[] = [];
  /** Batches handed to the writer and not answered yet: close waits for them. */
  private readonly writing = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Rows written, and rows lost to a failed batch (for tests and metrics). */
  written = 0;
  lost = 0;

  /** Makes the table on `db`; the rows go to `writeRows` (default: `db` itself). */
  constructor(db: Database, writeRows?: RowsWriter) {
    db.exec(DDL);
    const own = new RowWriter(db);
    this.writeRows = writeRows ?? ((writes) => void db.transaction(() => own.run(writes))());
  }

  record(r: ShadowRecord): void {
    if (this.closed) return;
    this.rows.push(r);
    this.schedule(FLUSH_MS);
  }

  private schedule(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => void this.flush(false), ms);
    this.timer.unref();
  }

  /**
   * Writes what waits, in slices of SLICE_ROWS one event-loop turn apart; `all` writes everything now
   * (close, tests). Resolves once what it handed the writer was written (or counted lost).
   */
  flush(all = true): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const rows = all ? this.rows : this.rows.slice(0, SLICE_ROWS);
    this.rows = all ? [] : this.rows.slice(SLICE_ROWS);
    this.write(rows);
    if (this.rows.length > 0) this.schedule(0);
    return Promise.all(this.writing).then(() => undefined);
  }

  private write(rows: ShadowRecord[]): void {
    if (rows.length === 0) return;
    const writes = rows.map((r): RowWrite => {
      const { live: l, shadow: s } = r;
      const params = [r.decisionId, r.time, Date.parse(r.time), r.entrypoint, l.bundle, l.revision, l.digest, l.decision, JSON.stringify(l.reasonCodes)];
      return { sql: INSERT, params: [...params, s.bundle, s.revision, s.digest, s.decision, JSON.stringify(s.reasonCodes)] };
    });
    let result: void | Promise<void>;
    try {
      result = this.writeRows(writes);
    } catch {
      this.lost += rows.length;
      return;
    }
    if (!(result instanceof Promise)) {
      this.written += rows.length;
      return;
    }
    const written = result.then(
      () => {
        this.written += rows.length;
      },
      () => {
        this.lost += rows.length;
      },
    );
    this.writing.add(written);
    void written.finally(() => this.writing.delete(written));
  }

  /** Writes what waits and resolves once every batch was written or counted lost. */
  async close(): Promise<void> {
    const flushed = this.closed ? Promise.all(this.writing) : this.flush();
    this.closed = true;
    await flushed;
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
