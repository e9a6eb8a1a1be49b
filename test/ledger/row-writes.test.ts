import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isRowChanged, RowChanged, stagedTogether, type RowResult, type StagedWrite } from '../../src/engine/ledger.js';
import { failClosed } from '../../src/lib/errors.js';
import { RowWriter } from '../../src/ledger/row-writes.js';

/** Staged writes as data (engine/ledger.ts): what the ledger's RowWriter runs, and what a write made of several hears. */
function table(): Database.Database {
  const db = new Database(':memory:');
  db.exec("CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'open')");
  return db;
}

describe('RowWriter', () => {
  it('runs writes in order with positional or named parameters, saying what each changed and returned', () => {
    const db = table();
    const results = new RowWriter(db).run([
      { sql: 'INSERT INTO t(id, n) VALUES (?, ?)', params: ['a', 1] },
      { sql: 'INSERT INTO t(id, n) VALUES (@id, @n)', params: { id: 'b', n: 2 } },
      { sql: 'UPDATE t SET n = n + 10 WHERE n < ?', params: [5] },
      { sql: "DELETE FROM t WHERE id = ? AND state = 'open' RETURNING id, n", params: ['a'] },
      { sql: "DELETE FROM t WHERE id = ? AND state = 'open' RETURNING id, n", params: ['a'] },
    ]);
    expect(results).toEqual([
      { changes: 1, rows: [] },
      { changes: 1, rows: [] },
      { changes: 2, rows: [] },
      { changes: 1, rows: [{ id: 'a', n: 11 }] },
      { changes: 0, rows: [] },
    ]);
    expect(db.prepare('SELECT id, n FROM t').all()).toEqual([{ id: 'b', n: 12 }]);
  });

  it('a write that changes another number of rows than it expects throws RowChanged, seen through a refusal that wraps it', () => {
    const db = table();
    const writer = new RowWriter(db);
    writer.run([{ sql: 'INSERT INTO t(id, n) VALUES (?, ?)', params: ['a', 1] }]);
    const update = { sql: "UPDATE t SET state = 'done' WHERE id = ? AND state = 'open'", params: ['a'], changes: 1 };
    expect(writer.run([update])).toEqual([{ changes: 1, rows: [] }]);
    let thrown: unknown;
    try {
      writer.run([update]);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(RowChanged);
    expect(thrown).toMatchObject({ sql: update.sql, expected: 1, actual: 0 });
    expect(isRowChanged(thrown)).toBe(true);
    expect(isRowChanged(failClosed(thrown, 'ledger_unavailable', 'no'))).toBe(true);
    expect(isRowChanged(new Error('other'))).toBe(false);
    expect(isRowChanged(failClosed(new Error('other'), 'ledger_unavailable', 'no'))).toBe(false);
    expect(isRowChanged('not an error')).toBe(false);
  });

  it('keeps a bounded number of statements prepared, and still runs the ones it let go', () => {
    const db = table();
    const writer = new RowWriter(db);
    for (let i = 0; i < 300; i++) writer.run([{ sql: `INSERT INTO t(id, n) VALUES (?, ${i})`, params: [`r${i}`] }]);
    expect(writer.run([{ sql: 'INSERT INTO t(id, n) VALUES (?, 0)', params: ['again'] }])).toEqual([{ changes: 1, rows: [] }]);
    expect((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n).toBe(301);
  });
});

describe('staged writes together', () => {
  function part(name: string, writes: number, heard: Array<[string, boolean, readonly RowResult[]]>, fail = false): StagedWrite {
    return {
      writes: Array.from({ length: writes }, (_, i) => ({ sql: `${name}-${i}`, params: [] })),
      finish: (committed, results) => {
        heard.push([name, committed, results]);
        if (fail) throw new Error(`${name} failed`);
      },
      records: [{ decisionId: name } as never],
    };
  }

  it('write in order; each part hears its own results, every part hears even when one throws, and the first error is thrown', () => {
    const heard: Array<[string, boolean, readonly RowResult[]]> = [];
    const together = stagedTogether(undefined, part('a', 1, heard, true), part('b', 2, heard))!;
    expect(together.writes.map((w) => w.sql)).toEqual(['a-0', 'b-0', 'b-1']);
    expect(together.records?.map((r) => r.decisionId)).toEqual(['a', 'b']);
    const r = (n: number): RowResult => ({ changes: n, rows: [] });
    expect(() => together.finish(true, [r(1), r(2), r(3)])).toThrow('a failed');
    expect(heard).toEqual([
      ['a', true, [r(1)]],
      ['b', true, [r(2), r(3)]],
    ]);
    heard.length = 0;
    expect(() => together.finish(false, [])).toThrow('a failed');
    expect(heard).toEqual([
      ['a', false, []],
      ['b', false, []],
    ]);
  });

  it('one part is itself; none is nothing', () => {
    const heard: Array<[string, boolean, readonly RowResult[]]> = [];
    const only = part('a', 1, heard);
    expect(stagedTogether(undefined, only)).toBe(only);
    expect(stagedTogether(undefined, undefined)).toBeUndefined();
  });

  it('parts without entries of their own make a write without records; nothing thrown, nothing rethrown', () => {
    const heard: Array<[string, boolean, readonly RowResult[]]> = [];
    const bare = (name: string): StagedWrite => {
      const { records: _, ...rest } = part(name, 1, heard);
      return rest;
    };
    const together = stagedTogether(bare('a'), bare('b'))!;
    expect(together).not.toHaveProperty('records');
    expect(() =>
      together.finish(true, [
        { changes: 1, rows: [] },
        { changes: 0, rows: [] },
      ]),
    ).not.toThrow();
    expect(heard.map(([name, committed, results]) => [name, committed, results.length])).toEqual([
      ['a', true, 1],
      ['b', true, 1],
    ]);
  });
});
