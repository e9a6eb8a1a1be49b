import type { Database } from 'better-sqlite3';
import { protectTables, schemaVersion } from '../ledger/write-protect.js';
import type { StateReadGuard } from '../usage/state-read-guard.js';

/** The tables whose rows change decisions, written by this server alone (ledger/write-protect.ts). */
export const STATE_TABLES = ['approvals', 'usage_charges', 'usage_requests', 'usage_daily', 'usage_minute', 'usage_meta'] as const;

const REPAIRING = 'the state tables are being checked against the chain after a write by another program; retry in a moment';

/**
 * Keeps the state tables this server's own: they are write-protected (only the
 * ledger's connection can write them), and `check` — called by the stores
 * before each read of a state table, and by a timer — notices when someone
 * lifted that protection (the schema cookie moved). Then `onForeignWrite` runs
 * before the read (it checks the tables against the chain, rebuilds any row
 * that disagrees and records it), and the protection is put back. If it fails,
 * the read fails (closed) and the next check tries again.
 */
export class StateGuard implements StateReadGuard {
  private readonly db: Database;
  private last: number;
  private readonly onForeignWrite: () => undefined | Promise<number>;
  private timer: NodeJS.Timeout | undefined;
  /** A repair on another connection (the ledger's writer thread), until it answers. */
  private repairing: Promise<void> | undefined;
  private onError: (err: unknown) => void = () => undefined;

  /**
   * `onForeignWrite` repairs on this connection and returns, or on the ledger's writer thread: then
   * it resolves with the schema cookie the repair left (the tables protected again), and reads fail
   * closed until it does.
   */
  constructor(db: Database, onForeignWrite: () => undefined | Promise<number>) {
    this.db = db;
    this.onForeignWrite = onForeignWrite;
    protectTables(db, STATE_TABLES);
    this.last = schemaVersion(db);
  }

  check(): void {
    // Inside this server's own write transaction nobody else can commit.
    if (!this.db.open || this.db.inTransaction) return;
    if (this.repairing) throw new Error(REPAIRING);
    if (schemaVersion(this.db) === this.last) return;
    const repair = this.onForeignWrite();
    if (repair instanceof Promise) {
      this.repairing = repair.then(
        (cookie) => {
          this.last = cookie;
          this.repairing = undefined;
        },
        (err: unknown) => {
          // The next check tries again; until one passes, reads fail closed.
          this.repairing = undefined;
          this.onError(err);
        },
      );
      throw new Error(REPAIRING);
    }
    protectTables(this.db, STATE_TABLES);
    this.last = schemaVersion(this.db);
  }

  /** Checks every `ms` until stop(), so an edit is noticed even while reads are served from memory. */
  start(ms: number, onError: (err: unknown) => void): void {
    this.onError = onError;
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
