import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { EntryRecord, RowResult, StagedWrite } from '../../src/engine/ledger.js';
import { ledgerConfig } from '../../src/ledger/config.js';
import { checkKeyMatchesLedger, fileChanged, fileIdentity, recordedWriterPid } from '../../src/ledger/file-identity.js';
import { SqliteLedger, type LedgerHealth } from '../../src/ledger/sqlite.js';
import { WriterLock } from '../../src/ledger/writer-lock.js';
import { GavelError } from '../../src/lib/errors.js';
import { tempDir } from '../helpers/paths.js';
import { ledgersClosedAfterEach } from './open-ledgers.js';

/**
 * The SQLite ledger as a writer, in-process: what a staged write is told, when
 * appends wait or are refused, health and its listeners, verification on a file,
 * and the guards around the file (one writer, the key that belongs to it, a file
 * replaced or deleted underneath). The crash and multi-process forms are in
 * crash.test.ts and test/failclosed.
 */

const { ledgerAt, fileLedger } = ledgersClosedAfterEach('gavel-writer-');

function record(i: number, over: Partial<EntryRecord> = {}): EntryRecord {
  return {
    decisionId: `w-${i}`,
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    subjectId: 'alice',
    subjectType: 'user',
    team: 'payments',
    costCenter: 'cc',
    actionType: 'model.invoke',
    resource: 'standard-m',
    decision: 'allow',
    reasonCodes: ['allowed'],
    bundle: 'b',
    revision: 'r',
    digest: 'd',
    entrypoint: 'e',
    requestId: '',
    caller: 'test',
    payload: { n: i },
    salt: randomBytes(16),
    ...over,
  };
}

/**
 * A staged write that records what the ledger told it: its one row write calls a function of this
 * connection as it runs (noted 'apply'; throwing when `fail`), and finish notes the outcome and results.
 */
function spyStaged(db: Database.Database, id: string, fail = false): StagedWrite & { calls: string[]; results: RowResult[][] } {
  db.exec('CREATE TABLE IF NOT EXISTS side_rows (id TEXT PRIMARY KEY)');
  const calls: string[] = [];
  const results: RowResult[][] = [];
  const spy = `spy_${id}`;
  db.function(spy, (value: unknown) => {
    calls.push('apply');
    if (fail) throw new Error('staged write failed');
    return value;
  });
  return {
    calls,
    results,
    writes: [{ sql: `INSERT INTO side_rows(id) VALUES (${spy}(?))`, params: [id] }],
    finish(committed: boolean, rows: readonly RowResult[]) {
      calls.push(`finish:${committed}`);
      results.push([...rows]);
    },
  };
}

const sideRows = (db: Database.Database) => (db.prepare('SELECT id FROM side_rows ORDER BY id').all() as Array<{ id: string }>).map((r) => r.id);

describe('what a staged write is told', () => {
  it('applied in the transaction, then finished with true once committed', async () => {
    const ledger = ledgerAt(':memory:');
    const staged = spyStaged(ledger.db, 'a');
    expect((await ledger.append(record(1), staged)).seq).toBe(1);
    expect(staged.calls).toEqual(['apply', 'finish:true']);
    expect(staged.results).toEqual([[{ changes: 1, rows: [] }]]);
    expect(sideRows(ledger.db)).toEqual(['a']);
  });

  it('an entry that fails after its staged write ran (a duplicate decision id) takes the staged rows with it', async () => {
    const ledger = ledgerAt(':memory:');
    await ledger.append(record(1));
    const staged = spyStaged(ledger.db, 'dup');
    await expect(ledger.append(record(2, { decisionId: 'w-1' }), staged)).rejects.toMatchObject({ code: 'ledger_unavailable' });
    expect(staged.calls).toEqual(['apply', 'finish:false']);
    expect(staged.results).toEqual([[]]);
    expect(sideRows(ledger.db)).toEqual([]);
    expect(ledger.size).toBe(1);
  });

  it('a failing staged write refuses its entry alone; the others in the batch commit', async () => {
    const ledger = ledgerAt(':memory:');
    const good = spyStaged(ledger.db, 'good');
    const bad = spyStaged(ledger.db, 'bad', true);
    const results = await Promise.allSettled([ledger.append(record(1), good), ledger.append(record(2), bad), ledger.append(record(3))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    // Written straight through first; once one entry fails, the batch is rolled back and written entry by entry.
    expect(bad.calls).toEqual(['apply', 'apply', 'finish:false']);
    expect(good.calls).toEqual(['apply', 'apply', 'finish:true']);
    expect(sideRows(ledger.db)).toEqual(['good']);
    expect(ledger.size).toBe(2);
  });

  it('a record that cannot be prepared (a time that is not a time) is refused before the transaction, its staged write never applied', async () => {
    const ledger = ledgerAt(':memory:');
    const staged = spyStaged(ledger.db, 'never');
    const err = await ledger.append(record(1, { time: 'not a time' }), staged).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GavelError);
    expect((err as GavelError).code).toBe('ledger_unavailable');
    expect(((err as GavelError).cause as Error).message).toBe('record time not a time is not a time');
    expect(staged.calls).toEqual(['finish:false']);
  });

  it('only the ledger’s own erasures may delete payloads: any other entry’s writes are refused with it, whatever its kind', async () => {
    const ledger = ledgerAt(':memory:');
    await ledger.append(record(1));
    const erase = { writes: [{ sql: 'DELETE FROM payloads WHERE seq = ?', params: [1] }], finish: () => undefined };
    await expect(ledger.append(record(2), erase)).rejects.toMatchObject({ code: 'ledger_unavailable' });
    // A record that calls itself an erasure is no erasure: only the ledger's own erase() may delete.
    await expect(ledger.append(record(3, { kind: 'erasure' }), erase)).rejects.toMatchObject({ code: 'ledger_unavailable' });
    expect(ledger.size).toBe(1);
    expect(ledger.db.prepare('SELECT COUNT(*) AS n FROM payloads').get()).toEqual({ n: 1 });
  });

  it('an append to a closed ledger is refused at once, and its staged write told so', async () => {
    const ledger = ledgerAt(':memory:');
    await ledger.close();
    const staged = spyStaged(new Database(':memory:'), 'x');
    await expect(ledger.append(record(1), staged)).rejects.toThrow('the ledger is closed');
    expect(staged.calls).toEqual(['finish:false']);
  });
});

describe('appendNow: written before it returns (the state check at start)', () => {
  it('commits the entry and the caller’s own writes in one transaction, with what was queued before it', async () => {
    const ledger = ledgerAt(':memory:');
    ledger.db.exec('CREATE TABLE side (n INTEGER)');
    const queued = ledger.append(record(1));
    ledger.appendNow(record(2), () => ledger.db.prepare('INSERT INTO side VALUES (7)').run());
    expect(ledger.size).toBe(2);
    expect(ledger.db.prepare('SELECT n FROM side').pluck().all()).toEqual([7]);
    expect((await queued).seq).toBe(1);
  });

  it('a record that cannot be written throws, naming why; a failing write of its own takes the entry with it', () => {
    const ledger = ledgerAt(':memory:');
    let err: GavelError | undefined;
    try {
      ledger.appendNow(record(1, { time: 'never' }));
    } catch (e) {
      err = e as GavelError;
    }
    expect(err).toMatchObject({ code: 'ledger_unavailable', cause: expect.objectContaining({ message: 'record time never is not a time' }) });
    expect(() =>
      ledger.appendNow(record(2), () => {
        throw new Error('rebuild failed');
      }),
    ).toThrow(expect.objectContaining({ code: 'ledger_unavailable' }));
    expect(ledger.size).toBe(0);
  });

  it('refuses inside another open transaction, and leaves nothing queued to be written later', async () => {
    const ledger = ledgerAt(':memory:');
    ledger.db.exec('BEGIN');
    expect(() => ledger.appendNow(record(1))).toThrow('another transaction is open on the ledger connection; the entry was not written');
    ledger.db.exec('COMMIT');
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    await ledger.append(record(2));
    expect(ledger.db.prepare('SELECT decision_id FROM entries').pluck().all()).toEqual(['w-2']);
  });

  it('refuses once the ledger is closed', async () => {
    const ledger = ledgerAt(':memory:');
    await ledger.close();
    expect(() => ledger.appendNow(record(1))).toThrow('the ledger is closed');
  });
});

describe('a record without its payload', () => {
  it('is refused alone, saying so; the rest of its batch commits', async () => {
    const ledger = ledgerAt(':memory:');
    const { payload: _none, ...bare } = record(1);
    const [refused, written] = await Promise.allSettled([ledger.append(bare as EntryRecord), ledger.append(record(2))]);
    expect(refused.status).toBe('rejected');
    expect(((refused as PromiseRejectedResult).reason.cause as Error).message).toBe('record w-1 has no payload');
    expect(written).toMatchObject({ status: 'fulfilled', value: { seq: 1 } });
  });
});

describe('when appends wait', () => {
  it('an append queued while another transaction is open on the connection waits for it, then commits', async () => {
    const ledger = ledgerAt(':memory:');
    ledger.db.exec('BEGIN');
    let settled = false;
    const pending = ledger.append(record(1)).finally(() => (settled = true));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    ledger.db.exec('COMMIT');
    expect((await pending).seq).toBe(1);
  });

  it('appends made in one turn share one transaction; an append and a close in the same turn still commits', async () => {
    const ledger = ledgerAt(':memory:');
    const both = Promise.all([ledger.append(record(1)), ledger.append(record(2))]);
    const closing = ledger.close();
    expect((await both).map((r) => r.seq)).toEqual([1, 2]);
    await closing;
  });
});

describe('health', () => {
  it('a failing batch makes the ledger unhealthy, with the reason, until one commits; listeners hear each change once', async () => {
    let failCommits = 0;
    const ledger = ledgerAt(
      ':memory:',
      {},
      {
        beforeCommit: () => {
          if (failCommits-- > 0) throw new Error('disk I/O error');
        },
      },
    );
    const heard: LedgerHealth[] = [];
    ledger.onHealthChange((h) => heard.push(h));
    expect(ledger.health).toEqual({ ok: true });
    failCommits = 2;
    await expect(ledger.append(record(1))).rejects.toMatchObject({ code: 'ledger_unavailable' });
    expect(ledger.health).toEqual({ ok: false, reason: 'ledger appends are failing: disk I/O error' });
    await expect(ledger.append(record(2))).rejects.toMatchObject({ code: 'ledger_unavailable' });
    expect(heard).toEqual([{ ok: false, reason: 'ledger appends are failing: disk I/O error' }]);
    // A record refused before any transaction neither heals nor hurts.
    await expect(ledger.append(record(3, { time: 'never' }))).rejects.toMatchObject({ code: 'ledger_unavailable' });
    expect(ledger.health.ok).toBe(false);
    expect((await ledger.append(record(4))).seq).toBe(1);
    expect(ledger.health).toEqual({ ok: true });
    expect(heard).toEqual([{ ok: false, reason: 'ledger appends are failing: disk I/O error' }, { ok: true }]);
  });

  it('a new failure reason is heard again', async () => {
    const reasons = ['first', 'second'];
    const ledger = ledgerAt(
      ':memory:',
      {},
      {
        beforeCommit: () => {
          const r = reasons.shift();
          if (r) throw new Error(r);
        },
      },
    );
    const heard: LedgerHealth[] = [];
    ledger.onHealthChange((h) => heard.push(h));
    await ledger.append(record(1)).catch(() => undefined);
    await ledger.append(record(2)).catch(() => undefined);
    expect(heard.map((h) => h.reason)).toEqual(['ledger appends are failing: first', 'ledger appends are failing: second']);
  });

  it('a write lock held by another connection: the append fails as busy and the reason says so', async () => {
    const { ledger, path } = fileLedger({ busyTimeoutMs: 50 });
    await ledger.append(record(1));
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    try {
      await expect(ledger.append(record(2))).rejects.toMatchObject({ code: 'ledger_unavailable' });
      expect(ledger.health).toEqual({ ok: false, reason: 'ledger appends are failing: database is locked' });
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect((await ledger.append(record(3))).seq).toBe(2);
  });

  it('a ledger file deleted underneath the writer: unhealthy, and appends are refused', async () => {
    const { ledger, path } = fileLedger({ fileCheckMs: 60_000 });
    await ledger.append(record(1));
    const heard: LedgerHealth[] = [];
    ledger.onHealthChange((h) => heard.push(h));
    rmSync(path);
    const err = (await ledger.append(record(2)).catch((e: unknown) => e)) as GavelError;
    expect(err.code).toBe('ledger_unavailable');
    expect(err.message).toBe('the ledger file is gone; no answer is given');
    expect(ledger.health).toEqual({ ok: false, reason: `ledger file ${path} was deleted while open; restart gavel once the ledger is restored` });
    expect(heard).toHaveLength(1);
    // Once lost, refused at once.
    await expect(ledger.append(record(3))).rejects.toThrow('the ledger file is gone; no answer is given');
  });
});

describe('an idle writer', () => {
  /** Polls `ready` every 20 ms for at most `ms`. */
  async function until(ready: () => boolean, ms: number): Promise<void> {
    for (const end = Date.now() + ms; !ready() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
  }

  it('notices its file deleted on its own timer, with no append to find it, and says so once', async () => {
    const { ledger, path } = fileLedger({ fileCheckMs: 30 });
    await ledger.append(record(1));
    const heard: LedgerHealth[] = [];
    ledger.onHealthChange((h) => heard.push(h));
    rmSync(path);
    await until(() => heard.length > 0, 5_000);
    expect(heard).toEqual([{ ok: false, reason: `ledger file ${path} was deleted while open; restart gavel once the ledger is restored` }]);
    await new Promise((r) => setTimeout(r, 100));
    expect(heard).toHaveLength(1);
  });

  it('signs a checkpoint of its head within checkpointSeconds, short of checkpointEvery entries', async () => {
    const { ledger } = fileLedger({ checkpointEvery: 1_000_000, checkpointSeconds: 1 });
    await ledger.append(record(1));
    await ledger.append(record(2));
    const sizes = () => ledger.db.prepare('SELECT size FROM checkpoints ORDER BY size').pluck().all();
    expect(sizes()).toEqual([]);
    await until(() => sizes().length > 0, 5_000);
    expect(sizes()).toEqual([2]);
  });

  it('opened again, counts its next checkpoint from the last one signed, not from the start', async () => {
    const path = join(tempDir('gavel-writer-'), 'ledger.db');
    const first = ledgerAt(path, { checkpointEvery: 3, checkpointSeconds: 3600 });
    for (let i = 1; i <= 3; i++) await first.append(record(i));
    await first.close();
    const again = ledgerAt(path, { checkpointEvery: 3, checkpointSeconds: 3600 });
    await again.append(record(4));
    await again.append(record(5));
    // 3 was signed when the third entry committed; two more are short of the next three.
    expect(again.db.prepare('SELECT size FROM checkpoints ORDER BY size').pluck().all()).toEqual([3]);
    await again.append(record(6));
    await new Promise((r) => setTimeout(r, 50));
    expect(again.db.prepare('SELECT size FROM checkpoints ORDER BY size').pluck().all()).toEqual([3, 6]);
  });

  it('closed, holds nothing of its file open: its own connection, the lock’s and the WAL checkpointer thread’s all let go', async () => {
    const { ledger, path } = fileLedger({ walCheckpointMs: 10 });
    await ledger.append(record(1));
    const named = () => readdirSync('/proc/self/fd').map((fd) => readlinkSafe(`/proc/self/fd/${fd}`) ?? '');
    const held = () => named().filter((file) => file.startsWith(path)).length;
    // The checkpointer thread has opened the file too: two descriptors name the ledger file itself.
    await until(() => named().filter((file) => file === path).length === 2, 5_000);
    expect(named().filter((file) => file === path)).toHaveLength(2);
    await ledger.close();
    expect(held()).toBe(0);
  });

  it('makes the folders of a new ledger file', async () => {
    const path = join(tempDir('gavel-writer-'), 'a', 'b', 'ledger.db');
    const ledger = ledgerAt(path);
    expect((await ledger.append(record(1))).seq).toBe(1);
    expect(existsSync(path)).toBe(true);
  });
});

describe('writeRows: rows outside the chain (shadow results, cosignatures)', () => {
  it('written in a transaction of their own, after the appends queued before them; none of a failing set', async () => {
    const ledger = ledgerAt(':memory:');
    ledger.db.exec('CREATE TABLE side (n INTEGER NOT NULL, seen INTEGER)');
    const queued = ledger.append(record(1));
    // The entry queued first is in the file when the rows are written: the rows see it.
    await ledger.writeRows([{ sql: 'INSERT INTO side VALUES (?, (SELECT COUNT(*) FROM entries))', params: [1] }]);
    expect(ledger.db.prepare('SELECT n, seen FROM side').all()).toEqual([{ n: 1, seen: 1 }]);
    expect((await queued).seq).toBe(1);
    await expect(
      ledger.writeRows([
        { sql: 'INSERT INTO side VALUES (?, NULL)', params: [2] },
        { sql: 'INSERT INTO side VALUES (NULL, NULL)', params: [] },
      ]),
    ).rejects.toThrow(/NOT NULL constraint failed/);
    expect(ledger.db.prepare('SELECT n FROM side').pluck().all()).toEqual([1]);
    expect(ledger.size).toBe(1);
  });

  it('refused once the ledger is closed, or its file gone', async () => {
    const closed = ledgerAt(':memory:');
    await closed.close();
    await expect(closed.writeRows([])).rejects.toThrow('the ledger is closed');
    const { ledger, path } = fileLedger({ fileCheckMs: 60_000 });
    await ledger.append(record(1));
    rmSync(path);
    await ledger.append(record(2)).catch(() => undefined);
    await expect(ledger.writeRows([])).rejects.toThrow('the ledger file is gone');
  });
});

describe('checkpoints', () => {
  it('an empty ledger has none to sign; a size already signed keeps its first note', async () => {
    const ledger = ledgerAt(':memory:');
    expect(ledger.checkpoint()).toBeUndefined();
    expect(ledger.db.prepare('SELECT COUNT(*) FROM checkpoints').pluck().get()).toBe(0);
    await ledger.append(record(1));
    const note = ledger.checkpoint();
    expect(note).toContain('\n1\n');
    expect(ledger.checkpoint()).toBe(note);
    expect(ledger.db.prepare('SELECT size FROM checkpoints').pluck().all()).toEqual([1]);
  });

  it('a ledger in memory signs every checkpointEvery entries before the append that reached it is answered', async () => {
    const ledger = ledgerAt(':memory:', { checkpointEvery: 2, checkpointSeconds: 3600 });
    await ledger.append(record(1));
    await ledger.append(record(2));
    expect(ledger.db.prepare('SELECT size FROM checkpoints').pluck().all()).toEqual([2]);
  });
});

describe('verification through the ledger', () => {
  it('an in-memory ledger verifies itself', async () => {
    const ledger = ledgerAt(':memory:');
    await ledger.append(record(1));
    await ledger.append(record(2));
    expect(await ledger.verify()).toEqual({
      ok: true,
      entries: 2,
      headHash: ledger.headHash,
      checkpointsChecked: 0,
      payloadsErased: 0,
      erasures: [],
      treeChecked: true,
    });
  });

  it('a file ledger is verified on a reader of its own, closed afterwards, with an exported checkpoint too', async () => {
    const { ledger, path } = fileLedger();
    await ledger.append(record(1));
    const note = ledger.checkpoint()!;
    await ledger.append(record(2));
    const fds = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').filter((fd) => readlinkSafe(`/proc/self/fd/${fd}`) === path).length : 0);
    expect(await ledger.verify(note)).toEqual({
      ok: true,
      entries: 2,
      headHash: ledger.headHash,
      checkpointsChecked: 2,
      payloadsErased: 0,
      erasures: [],
      treeChecked: true,
    });
    // Descriptors on the file (the writer's, the WAL checkpointer's) do not grow with every verification.
    await new Promise((r) => setTimeout(r, 100));
    const before = fds();
    for (let i = 0; i < 3; i++) expect((await ledger.verify()).ok).toBe(true);
    expect(fds()).toBe(before);
  });

  it('a file that is gone is an error, not a new empty ledger', async () => {
    const { ledger, path } = fileLedger({ fileCheckMs: 60_000 });
    await ledger.append(record(1));
    rmSync(path);
    await expect(ledger.verify()).rejects.toThrow(/unable to open database file/);
    expect(existsSync(path)).toBe(false);
  });

  it('verifierKey is the key the checkpoints verify with', async () => {
    const ledger = ledgerAt(':memory:');
    expect(ledger.verifierKey()).toMatch(new RegExp(`^${ledger.origin.replace(/[./]/g, '\\$&')}\\+[0-9a-f]{8}\\+[A-Za-z0-9+/]+=*$`));
  });
});

function readlinkSafe(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}

describe('one writer per ledger file', () => {
  it('a second writer on the same file is refused naming the holder’s pid and the lock file', async () => {
    const { ledger, path } = fileLedger();
    await ledger.append(record(1));
    const err = (() => {
      try {
        new SqliteLedger(ledgerConfig(path));
      } catch (e) {
        return e as GavelError;
      }
      throw new Error('a second writer opened');
    })();
    expect(err.code).toBe('ledger_in_use');
    expect(err.message).toBe(
      `ledger ${path} already has a writer (pid ${process.pid}), holding ${path}.lock; one ledger file takes one writer — read-only commands (gavel audit verify, query, timeline) work meanwhile`,
    );
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('without a recorded pid the message says only that it is held; once released, the next writer gets it', () => {
    const path = join(tempDir('gavel-lock-'), 'ledger.db');
    const first = WriterLock.acquire(path, () => undefined);
    expect(first.path).toBe(`${path}.lock`);
    expect(() => WriterLock.acquire(path, () => undefined)).toThrow(`ledger ${path} already has a writer, holding ${path}.lock;`);
    first.release();
    first.release();
    const second = WriterLock.acquire(path, () => undefined);
    second.release();
  });

  it('a writer that fails to open (another ledger’s key) releases the lock it took', () => {
    const a = join(tempDir('gavel-keys-'), 'a.db');
    const b = join(tempDir('gavel-keys-'), 'b.db');
    ledgerAt(a);
    ledgerAt(b);
    const c = join(tempDir('gavel-keys-'), 'c.db');
    expect(() => new SqliteLedger(ledgerConfig(c, { keyPath: `${a}.key` }))).toThrow(/does not exist; refusing to start a new chain/);
    // The lock on c was released: a writer with its own key can open it now.
    ledgerAt(c);
  });

  it('a ledger in memory that fails to open (a key file that holds no key) throws the key’s own error (it has no lock to release)', () => {
    const keyPath = join(tempDir('gavel-keys-'), 'bad.key');
    writeFileSync(keyPath, 'not a key');
    expect(() => new SqliteLedger(ledgerConfig(':memory:', { keyPath }))).toThrow(expect.objectContaining({ code: 'ERR_OSSL_UNSUPPORTED' }));
  });

  it('a ledger or lock path SQLite cannot open is refused as ledger_unavailable, naming the file and what the folder must allow', () => {
    const openError = (path: string) => {
      try {
        new SqliteLedger(ledgerConfig(path));
      } catch (e) {
        return e as GavelError;
      }
      throw new Error(`${path} opened`);
    };
    // The ledger path is a folder: SQLite says only "unable to open database file".
    const folder = tempDir('gavel-open-');
    const asFolder = openError(folder);
    expect(asFolder).toBeInstanceOf(GavelError);
    expect(asFolder.code).toBe('ledger_unavailable');
    expect(asFolder.message).toBe(
      `ledger ${folder} cannot be opened for writing: unable to open database file (the server writes the file and, beside it in ${dirname(folder)}, ` +
        'its .lock, -wal and -shm files: the folder must be writable; gavel audit verify, query and timeline read a read-only copy)',
    );
    expect((asFolder.cause as { code?: string }).code).toMatch(/^SQLITE_CANTOPEN/);
    // The lock beside it is a folder: refused the same way, before the ledger file is touched.
    const path = join(tempDir('gavel-open-'), 'ledger.db');
    mkdirSync(`${path}.lock`);
    const lock = openError(path);
    expect(lock.code).toBe('ledger_unavailable');
    expect(lock.message).toContain(`ledger ${path} cannot be opened for writing: unable to open database file`);
    expect(lock.cause).toBeInstanceOf(Error);
    expect(existsSync(path)).toBe(false);
  });

  it('recordedWriterPid reads the writer’s pid from the ledger, and nothing from a file that is not one', async () => {
    const { ledger, path } = fileLedger();
    await ledger.append(record(1));
    expect(recordedWriterPid(path)).toBe(String(process.pid));
    expect(recordedWriterPid(join(tempDir(), 'absent.db'))).toBeUndefined();
    const junk = join(tempDir(), 'junk.db');
    writeFileSync(junk, 'not a database');
    expect(recordedWriterPid(junk)).toBeUndefined();
    const empty = join(tempDir(), 'empty.db');
    new Database(empty).exec('CREATE TABLE meta (key TEXT, value TEXT)');
    expect(recordedWriterPid(empty)).toBeUndefined();
  });
});

describe('the signing key belongs to its ledger', () => {
  async function keyedLedger(): Promise<{ path: string; keyPath: string }> {
    const { ledger, path } = fileLedger();
    await ledger.append(record(1));
    await ledger.close();
    return { path, keyPath: `${path}.key` };
  }

  it('no key file: nothing to check', () => {
    expect(() => checkKeyMatchesLedger(join(tempDir(), 'absent.db'), join(tempDir(), 'absent.key'), false)).not.toThrow();
  });

  it('the ledger’s own key passes', async () => {
    const { path, keyPath } = await keyedLedger();
    expect(() => checkKeyMatchesLedger(path, keyPath, false)).not.toThrow();
  });

  it('a key next to a missing ledger is refused, unless a new ledger is intended', async () => {
    const { keyPath } = await keyedLedger();
    const missing = join(tempDir(), 'gone.db');
    const err = (() => {
      try {
        checkKeyMatchesLedger(missing, keyPath, false);
      } catch (e) {
        return e as GavelError;
      }
      throw new Error('accepted');
    })();
    expect(err.code).toBe('ledger_missing');
    expect(err.message).toBe(
      `signing key ${keyPath} exists but ledger ${missing} does not exist; refusing to start a new chain under an old key — restore the ledger, or pass --new-ledger if a fresh ledger is intended`,
    );
    expect(() => checkKeyMatchesLedger(missing, keyPath, true)).not.toThrow();
  });

  it('a key next to a file with no gavel ledger in it is refused as empty, unless a new ledger is intended', async () => {
    const { keyPath } = await keyedLedger();
    for (const content of ['', 'garbage']) {
      const file = join(tempDir(), 'empty.db');
      writeFileSync(file, content);
      expect(() => checkKeyMatchesLedger(file, keyPath, false)).toThrow(`ledger ${file} is empty (no gavel ledger in it)`);
      expect(() => checkKeyMatchesLedger(file, keyPath, true)).not.toThrow();
    }
  });

  it('another ledger’s key is refused even for a new ledger', async () => {
    const one = await keyedLedger();
    const two = await keyedLedger();
    for (const fresh of [false, true]) {
      const err = (() => {
        try {
          checkKeyMatchesLedger(one.path, two.keyPath, fresh);
        } catch (e) {
          return e as GavelError;
        }
        throw new Error('accepted');
      })();
      expect(err.code).toBe('ledger_missing');
      expect(err.message).toBe(`ledger ${one.path} was not created with signing key ${two.keyPath}; pass the ledger's own key with --key`);
    }
  });
});

describe('which file a path names', () => {
  it('unchanged, deleted, or replaced by another file', () => {
    const dir = tempDir('gavel-ident-');
    const path = join(dir, 'ledger.db');
    writeFileSync(path, 'a');
    const opened = fileIdentity(path)!;
    expect(opened).toEqual({ dev: statSync(path).dev, ino: statSync(path).ino });
    expect(fileChanged(path, opened)).toBeUndefined();
    const other = join(dir, 'other.db');
    writeFileSync(other, 'b');
    renameSync(other, path);
    expect(fileChanged(path, opened)).toBe(`ledger file ${path} was replaced while open`);
    expect(fileChanged(path, { ...fileIdentity(path)!, dev: -1 })).toBe(`ledger file ${path} was replaced while open`);
    rmSync(path);
    expect(fileIdentity(path)).toBeUndefined();
    expect(fileChanged(path, opened)).toBe(`ledger file ${path} was deleted while open`);
  });
});
