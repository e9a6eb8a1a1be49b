import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { ensureLedgerId, readLedgerId, readOrigin } from '../../src/ledger/meta.js';

/** The ledger's id in its meta table (ledger/meta.ts): made once, kept, and its absence refused as not a gavel ledger. */

it('is made on first open and kept on the next; the checkpoint origin names it', () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  const id = ensureLedgerId(db);
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  expect(ensureLedgerId(db)).toBe(id);
  expect(readLedgerId(db)).toBe(id);
  expect(readOrigin(db)).toContain(id);
  db.close();
});

it('a file whose meta table has no ledger id is refused as not a gavel ledger', () => {
  const db = new Database(':memory:');
  db.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES ('other', 'x')");
  expect(() => readLedgerId(db)).toThrow('the ledger has no ledger_id: not a gavel ledger');
  expect(() => readOrigin(db)).toThrow('not a gavel ledger');
  db.close();
});
