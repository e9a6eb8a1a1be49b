import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { ledgerOrigin } from './checkpoint.js';

/** The ledger's id, created on first open; it names the checkpoint origin. */
export function ensureLedgerId(db: Database): string {
  db.prepare(`INSERT OR IGNORE INTO meta(key, value) VALUES ('ledger_id', ?)`).run(randomUUID());
  return readLedgerId(db);
}

export function readLedgerId(db: Database): string {
  const row = db.prepare(`SELECT value FROM meta WHERE key = 'ledger_id'`).get() as { value: string } | undefined;
  if (!row) throw new Error('the ledger has no ledger_id: not a gavel ledger');
  return row.value;
}

/** The checkpoint origin line of a ledger file opened read-only (CLI verify and pubkey). */
export function readOrigin(db: Database): string {
  return ledgerOrigin(readLedgerId(db));
}

export function latestCheckpointNote(db: Database): string | undefined {
  const row = db.prepare('SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1').get() as { note: string } | undefined;
  return row?.note;
}
