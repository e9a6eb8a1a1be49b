import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { ledgerConfig } from '../../src/ledger/config.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { tempDir } from '../helpers/paths.js';
import { sampleRecord } from './fixtures.js';

/** A lone decision's COMMIT writes a page of every B-tree it touches: new files use smaller pages (bench/README, issue 30). */
it('a new ledger file is made with 2048-byte pages; an existing file keeps its own and goes on', async () => {
  const dir = tempDir();
  const fresh = join(dir, 'fresh.db');
  const ledger = new SqliteLedger(ledgerConfig(fresh));
  await ledger.append(sampleRecord({ decisionId: 'one' }));
  expect(ledger.db.pragma('page_size', { simple: true })).toBe(2048);
  await ledger.close();

  // A file made before, with SQLite's default pages, in WAL mode as the ledger leaves it.
  const older = join(dir, 'older.db');
  const made = new Database(older);
  made.pragma('page_size = 4096');
  made.pragma('journal_mode = WAL');
  made.close();
  const reopened = new SqliteLedger(ledgerConfig(older));
  await reopened.append(sampleRecord({ decisionId: 'two' }));
  expect(reopened.db.pragma('page_size', { simple: true })).toBe(4096);
  expect((await reopened.verify()).ok).toBe(true);
  await reopened.close();

  const chosen = new SqliteLedger(ledgerConfig(join(dir, 'chosen.db'), { pageSize: 8192 }));
  expect(chosen.db.pragma('page_size', { simple: true })).toBe(8192);
  await chosen.close();
});

it('refuses a page size SQLite would not take', () => {
  for (const pageSize of [0, 1000, 256, 131072, 2048.5])
    expect(() => ledgerConfig('x.db', { pageSize })).toThrow(/ledger\.pageSize must be a power of two from 512 to 65536/);
  expect(ledgerConfig('x.db', { pageSize: 512 }).pageSize).toBe(512);
  expect(ledgerConfig('x.db', { pageSize: 65536 }).pageSize).toBe(65536);
});
