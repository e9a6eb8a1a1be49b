import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerConfig } from '../../src/ledger/config.js';
import { openLedgerReadOnly } from '../../src/ledger/read-only.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { tempDir } from '../helpers/paths.js';
import { sampleRecord } from './fixtures.js';

/**
 * Opening a ledger to read it (audit verify, query, timeline, proofs, the console): directly where
 * SQLite can, else from a private copy of the file and its WAL. The copy's path is taken in this
 * process, where root cannot make a read-only folder: the direct read fails as SQLite's does there
 * (test/state/verify.test.ts runs the real case as `nobody`, through the CLI).
 */
const readOnly = (code: string) => () => {
  throw Object.assign(new Error('attempt to write a readonly database'), { code });
};

/** A ledger of three entries still in its WAL (not checkpointed into the file), left open by its writer. */
async function ledgerInWal(): Promise<{ path: string; ledger: SqliteLedger }> {
  const path = join(tempDir(), 'ledger.db');
  const ledger = new SqliteLedger(ledgerConfig(path, { checkpointEvery: 1_000_000, checkpointSeconds: 3600 }));
  for (const id of ['r1', 'r2', 'r3']) await ledger.append(sampleRecord({ decisionId: id }));
  return { path, ledger };
}

const count = (db: { prepare(sql: string): { get(): unknown } }) => (db.prepare('SELECT COUNT(*) AS n FROM entries').get() as { n: number }).n;

/** The copies openLedgerReadOnly made under a folder (tempDir makes its own folders there too). */
const ledgerCopies = (dir: string) => readdirSync(dir).filter((name) => name.startsWith('gavel-ledger-'));

let tmp: string | undefined;
const savedTmp = process.env.TMPDIR;
/** The copies' folder, for this test alone. */
function privateTmp(): string {
  tmp = join(tempDir(), 'tmp');
  mkdirSync(tmp);
  process.env.TMPDIR = tmp;
  return tmp;
}
afterEach(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  tmp = undefined;
});

describe('a ledger opened read-only', () => {
  it('is read in place where SQLite can: every committed entry, the WAL included, and no writes taken', async () => {
    const { path, ledger } = await ledgerInWal();
    const db = openLedgerReadOnly(path);
    expect(db.name).toBe(path);
    expect(db.readonly).toBe(true);
    expect(count(db)).toBe(3);
    expect(() => db.exec('DELETE FROM meta')).toThrow(/readonly/);
    db.close();
    await ledger.close();
  });

  it('is read from a private copy of the file and its WAL when SQLite refuses it in place, removed on close', async () => {
    const { path, ledger } = await ledgerInWal();
    const dir = privateTmp();
    const before = readFileSync(path);
    const db = openLedgerReadOnly(path, { directRead: readOnly('SQLITE_READONLY_RECOVERY') });
    const copies = ledgerCopies(dir);
    expect(copies).toHaveLength(1);
    expect(db.name).toBe(join(dir, copies[0]!, 'ledger.db'));
    expect(existsSync(`${db.name}-wal`)).toBe(true);
    expect(db.readonly).toBe(true);
    expect(count(db)).toBe(3); // the entries only the WAL holds came with it
    db.close();
    expect(ledgerCopies(dir)).toEqual([]);
    expect(readFileSync(path).equals(before)).toBe(true);
    await ledger.close();
  });

  it('a file that cannot be opened in place (SQLITE_CANTOPEN) is copied too; without a WAL, the file alone', async () => {
    const { path, ledger } = await ledgerInWal();
    await ledger.close(); // the last connection's close folds the WAL into the file and removes it
    expect(existsSync(`${path}-wal`)).toBe(false);
    const dir = privateTmp();
    const db = openLedgerReadOnly(path, { directRead: readOnly('SQLITE_CANTOPEN') });
    expect(db.name.startsWith(dir)).toBe(true);
    expect(existsSync(`${db.name}-wal`)).toBe(false);
    expect(count(db)).toBe(3);
    db.close();
    expect(ledgerCopies(dir)).toEqual([]);
  });

  it('any other failure is the caller’s to see: no copy is made', async () => {
    const dir = privateTmp();
    const notLedger = join(tempDir(), 'notes.txt');
    writeFileSync(notLedger, 'not a database, but long enough to be read as one: '.repeat(100));
    expect(() => openLedgerReadOnly(notLedger)).toThrow(/not a database/);
    const { path, ledger } = await ledgerInWal();
    const busy = () => {
      throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    };
    expect(() => openLedgerReadOnly(path, { directRead: busy })).toThrow('database is locked');
    expect(() =>
      openLedgerReadOnly(path, {
        directRead: () => {
          throw new Error('no code at all');
        },
      }),
    ).toThrow('no code at all');
    expect(ledgerCopies(dir)).toEqual([]);
    await ledger.close();
  });

  it('a copy that fails halfway is removed, and the failure thrown', async () => {
    const { path, ledger } = await ledgerInWal();
    const dir = privateTmp();
    // The file vanishes between the refused read and its copy.
    const vanish = () => {
      rmSync(path);
      readOnly('SQLITE_READONLY')();
    };
    expect(() => openLedgerReadOnly(path, { directRead: vanish })).toThrow(/ENOENT/);
    expect(ledgerCopies(dir)).toEqual([]);
    await ledger.close();
  });
});
