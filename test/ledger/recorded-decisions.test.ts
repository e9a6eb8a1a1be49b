import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { ledgerConfig } from '../../src/ledger/config.js';
import { LedgerRecordedDecisions } from '../../src/ledger/recorded-decisions.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { tempDir } from '../helpers/paths.js';
import { sampleRecord } from './fixtures.js';

it('reads every recorded decision in seq order across pages, honours the limit, and stops at the last entry of its start', async () => {
  const path = join(tempDir(), 'ledger.db');
  const ledger = new SqliteLedger(ledgerConfig(path));
  const append = (from: number, to: number) =>
    Promise.all(Array.from({ length: to - from }, (_, i) => ledger.append(sampleRecord({ decisionId: `d-${from + i}` }))));
  await append(0, 2600);
  const db = new Database(path, { readonly: true });
  try {
    const source = new LedgerRecordedDecisions(db);
    expect(source.count({})).toBe(2600);
    const ids: string[] = [];
    let appendedMidway = false;
    for (const r of source.read({})) {
      ids.push(r.decisionId);
      // Appended while the read is under way (between pages): not part of this read.
      if (ids.length === 1500 && !appendedMidway) {
        appendedMidway = true;
        await append(2600, 2700);
      }
    }
    expect(ids).toEqual(Array.from({ length: 2600 }, (_, i) => `d-${i}`));
    expect([...source.read({ limit: 1100 })].map((r) => r.decisionId)).toEqual(Array.from({ length: 1100 }, (_, i) => `d-${i}`));
    expect([...source.read({ limit: 2048 })].length).toBe(2048);
    expect(source.count({})).toBe(2700);
  } finally {
    db.close();
    await ledger.close();
  }
});
