import type { Database } from 'better-sqlite3';
import { protectTables, schemaVersion } from '../ledger/write-protect.js';
import type { StateReadGuard } from '../usage/state-read-guard.js';

/** The tables whose rows change decisions, written by this server alone (ledger/write-protect.ts). */
export const STATE_TABLES = ['approvals', 'usage_charges', 'usage_requests', 'usage_daily', 'usage_minute', 'usage_meta'] as const;

/**
 * Keeps the state tables this server's own: they are write-protected (only the
 * ledger's writing connection can write them), and `check` — called by the stores
 * before each read of a state table, and by a timer — notices when someone
 * lifted that protection (the schema cookie moved). Then `onForeignWrite` runs
 * before the read (it checks the tables against the chain, rebuilds any row
 * that disagrees and records it, on the writer thread when the ledger has one,
 * while the read waits), and the protection is put back. If it fails,
 * the read fails (closed) and the next check tries again.
 */
export class StateGuard implements StateReadGuard {
  private readonly db: Database;
  private last: number;
  private readonly onForeignWrite: () => void;
  private timer: NodeJS.Timeout | undefined;

  constructor(db: Database, onForeignWrite: () => void) {
    this.db = db;
    this.onForeignWrite = onForeignWrite;
    protectTables(db, STATE_TABLES);
    this.last = schemaVersion(db);
  }

  check(): void {
    // Inside a write transaction on this connection (the ledger's, without a writer thread) nobody else can commit.
    if (!this.db.open || this.db.inTransaction) return;
    if (schemaVersion(this.db) === this.last) return;
    this.onForeignWrite();
    protectTables(this.db, STATE_TABLES);
    this.last = schemaVersion(this.db);
  }

  /** Checks every `ms` until stop(), so an edit is noticed even while reads are served from memory. */
  start(ms: number, onError: (err: unknown) => void): void {
    this.timer ??= setInterval(() => {
      try {
        this.check();
      } catch (err) {
        onError(err);
      }
    }, ms);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
