import type { Database } from 'better-sqlite3';
import type { RowWrite } from '../engine/ledger.js';
import { parseCheckpoint } from './checkpoint.js';
import { verifiedCosignatures, type VerifiedCosignature } from './cosignature.js';
import type { VerifierKey } from './keys.js';
import { hasTable } from '../lib/sqlite-schema.js';

/**
 * Witness cosignatures the ledger was given for its checkpoints (runtime/witnesses.ts submits
 * them), one line per checkpoint size and witness, kept beside the note they sign. They vouch for
 * themselves (each verifies against its witness's key over the note's body), so the table is
 * append-only like the checkpoints and nothing here is trusted without that check.
 */
export const COSIGNATURE_DDL = `CREATE TABLE IF NOT EXISTS checkpoint_cosignatures (
  size INTEGER NOT NULL,
  witness TEXT NOT NULL,
  line TEXT NOT NULL,
  PRIMARY KEY (size, witness)
);`;

/** The row that keeps a witness's cosignature line for the checkpoint at `size`; the first one kept per witness stands. */
export function cosignatureRow(size: number, witness: string, line: string): RowWrite {
  return {
    sql: 'INSERT OR IGNORE INTO checkpoint_cosignatures(size, witness, line) VALUES (?, ?, ?)',
    params: [size, witness, line.endsWith('\n') ? line : `${line}\n`],
  };
}

/** The checkpoint note at `size` with the cosignature lines kept for it appended (a C2SP signed note with several signatures). */
export function cosignedNote(db: Database, note: string, size: number): string {
  if (!hasTable(db, 'checkpoint_cosignatures')) return note;
  const lines = db.prepare('SELECT line FROM checkpoint_cosignatures WHERE size = ? ORDER BY witness').pluck().all(size) as string[];
  return note + lines.join('');
}

/** The largest size with cosignatures of at least `min` of `witnesses`, and whose they are; undefined when none. */
export interface Witnessed {
  size: number;
  cosignatures: VerifiedCosignature[];
}

/**
 * The newest of `notes` (signed checkpoints already checked against the entries) that at least
 * `min` distinct witnesses cosigned, counting the lines kept in the file and those the note itself
 * carries (an exported checkpoint). A forged line of a known witness throws.
 */
export function newestWitnessed(
  db: Database,
  notes: ReadonlyArray<{ size: number; note: string }>,
  witnesses: readonly VerifierKey[],
  min: number,
): Witnessed | undefined {
  const kept = hasTable(db, 'checkpoint_cosignatures') ? db.prepare('SELECT line FROM checkpoint_cosignatures WHERE size = ?').pluck() : undefined;
  for (const { size, note } of [...notes].sort((a, b) => b.size - a.size)) {
    const { body } = parseCheckpoint(note);
    const lines = [...note.slice(body.length + 1).split('\n'), ...((kept?.all(size) ?? []) as string[]).map((l) => l.replace(/\n$/, ''))];
    const cosignatures = verifiedCosignatures(body, lines, witnesses);
    if (cosignatures.length >= min) return { size, cosignatures };
  }
  return undefined;
}
