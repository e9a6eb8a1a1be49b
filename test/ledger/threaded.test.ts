import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isRowChanged, type Receipt, type RowResult, type StagedWrite } from '../../src/engine/ledger.js';
import { ledgerConfig } from '../../src/ledger/config.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { ThreadedLedger } from '../../src/ledger/threaded.js';
import { GavelError } from '../../src/lib/errors.js';
import { sampleRecord } from './fixtures.js';
import { fileWithSideTable, stopWriter, threadConfig } from './writer-thread.js';

/**
 * The ledger written by a thread of its own (issue 30): appends and their staged rows cross as
 * data, commit there in group commits, and are answered here only once committed; a refusal keeps
 * its code and cause; nothing is answered once the writer is gone or closed.
 */
const config = (path: string) => threadConfig(path);

function sideRow(id: string, heard: Array<[boolean, readonly RowResult[]]>, over: Partial<StagedWrite> = {}): StagedWrite {
  return { writes: [{ sql: 'INSERT INTO side(id, n) VALUES (?, ?)', params: [id, 1] }], finish: (ok, results) => heard.push([ok, results]), ...over };
}

describe('a ledger written by its own thread', () => {
  it('commits appends and their staged rows, answering each with its receipt and each staged write with its results', async () => {
    const path = fileWithSideTable();
    const ledger = await ThreadedLedger.open(config(path));
    expect(ledger.size).toBe(0);
    const heard: Array<[boolean, readonly RowResult[]]> = [];
    const receipts = await Promise.all(Array.from({ length: 50 }, (_, i) => ledger.append(sampleRecord({ decisionId: `t-${i}` }), sideRow(`s-${i}`, heard))));
    expect(receipts.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(heard).toHaveLength(50);
    expect(heard.every(([ok, results]) => ok && results.length === 1 && results[0]!.changes === 1)).toBe(true);
    expect(ledger.size).toBe(50);
    expect(ledger.headHash).toBe(receipts[49]!.entryHash);
    // Read here, on a connection of this thread's own: every entry and every staged row is there.
    const reader = new Database(path, { readonly: true });
    expect(reader.prepare('SELECT COUNT(*) AS n FROM entries').get()).toEqual({ n: 50 });
    expect(reader.prepare('SELECT COUNT(*) AS n FROM side').get()).toEqual({ n: 50 });
    reader.close();
    await ledger.close();
    // The chain the thread wrote verifies, signed checkpoint and all.
    const again = new SqliteLedger(config(path));
    const report = await again.verify();
    expect(report).toMatchObject({ ok: true, entries: 50 });
    await again.close();
  });

  it('refuses an entry whose staged row fails, alone; its code and its cause cross back, a RowChanged as one', async () => {
    const path = fileWithSideTable();
    const ledger = await ThreadedLedger.open(config(path));
    const heard: Array<[boolean, readonly RowResult[]]> = [];
    await ledger.append(sampleRecord({ decisionId: 'first' }), sideRow('taken', heard));
    const outcomes = await Promise.allSettled([
      ledger.append(sampleRecord({ decisionId: 'dup-row' }), sideRow('taken', heard)),
      ledger.append(sampleRecord({ decisionId: 'fine' }), sideRow('free', heard)),
      ledger.append(sampleRecord({ decisionId: 'raced' }), {
        writes: [{ sql: 'UPDATE side SET n = 2 WHERE id = ?', params: ['nobody'], changes: 1 }],
        finish: (ok, results) => heard.push([ok, results]),
      }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'fulfilled', 'rejected']);
    const [dup, , raced] = outcomes as PromiseRejectedResult[];
    expect(dup!.reason).toBeInstanceOf(GavelError);
    expect(dup!.reason).toMatchObject({ code: 'ledger_unavailable' });
    expect((dup!.reason as Error).cause).toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    expect(isRowChanged(raced!.reason)).toBe(true);
    expect(heard.map(([ok]) => ok)).toEqual([true, false, true, false]);
    expect(ledger.size).toBe(2);
    await ledger.close();
  });

  it('a staged write whose bookkeeping throws on refusal still has its caller refused, and the rest of its batch answered', async () => {
    const path = fileWithSideTable();
    const ledger = await ThreadedLedger.open(config(path));
    await ledger.append(sampleRecord({ decisionId: 'taken' }));
    const heard: Array<[boolean, readonly RowResult[]]> = [];
    const throwing: StagedWrite = {
      writes: [],
      finish: () => {
        throw new Error('bookkeeping failed');
      },
    };
    const outcomes = await Promise.allSettled([
      ledger.append(sampleRecord({ decisionId: 'taken' }), throwing), // a duplicate id: refused
      ledger.append(sampleRecord({ decisionId: 'dup-too' }), sideRow('x', heard)),
      ledger.append(sampleRecord({ decisionId: 'taken' }), sideRow('y', heard)), // refused too
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'fulfilled', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'ledger_unavailable' });
    expect(heard.map(([ok]) => ok)).toEqual([true, false]);
    await ledger.close();
    // Refused once closed, even when the staged write's bookkeeping throws.
    await expect(ledger.append(sampleRecord({ decisionId: 'late' }), throwing)).rejects.toMatchObject({ message: 'the ledger is closed' });
  });

  it('a record that cannot cross to the writer is refused alone, unwritten: the others of its turn are written', async () => {
    const path = fileWithSideTable();
    const ledger = await ThreadedLedger.open(config(path));
    const heard: Array<[boolean, readonly RowResult[]]> = [];
    const odd = { ...sampleRecord({ decisionId: 'odd' }), note: () => 'a function is not data' } as never;
    const outcomes = await Promise.allSettled([
      ledger.append(odd, sideRow('o', heard)),
      ledger.append(sampleRecord({ decisionId: 'same-batch' }), sideRow('s', heard)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'fulfilled']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'ledger_unavailable' });
    // Why it was not sent stays with the refusal.
    expect((outcomes[0] as PromiseRejectedResult).reason.cause).toMatchObject({ name: 'DataCloneError' });
    expect((outcomes[1] as PromiseFulfilledResult<Receipt>).value.seq).toBe(1);
    expect(heard.map(([ok]) => ok).sort()).toEqual([false, true]);
    // The next batch goes as usual.
    expect((await ledger.append(sampleRecord({ decisionId: 'next' }), sideRow('n', heard))).seq).toBe(2);
    await ledger.close();
  });

  it('erases and signs checkpoints in the writer: the erasure entry is chained there, each note reaches the listeners here', async () => {
    const path = fileWithSideTable();
    const ledger = await ThreadedLedger.open(config(path));
    const notes: Array<[string, number]> = [];
    ledger.onCheckpoint((note, size) => notes.push([note, size]));
    ledger.onCheckpoint(() => {
      throw new Error('a listener that fails stays its own');
    });
    for (const id of ['a', 'b', 'c']) await ledger.append(sampleRecord({ decisionId: id, subjectId: id === 'b' ? 'bob' : 'alice' }));
    const note = await ledger.checkpoint();
    expect(note).toContain('\n3\n');
    expect(notes).toEqual([[note, 3]]);
    const erased = await ledger.erase(
      { criteria: { subject: 'bob' }, reason: 'asked', basis: 'gdpr-art17', by: 'dpo' },
      { now: new Date('2026-12-05T12:00:00Z') },
    );
    expect(erased).toMatchObject({ erased: 1, seqs: [[2, 2]], entry: { seq: 4 } });
    expect(ledger.size).toBe(4);
    const reader = new Database(path, { readonly: true });
    expect(reader.prepare('SELECT seq FROM payloads ORDER BY seq').all()).toEqual([{ seq: 1 }, { seq: 3 }, { seq: 4 }]);
    reader.close();
    await expect(ledger.erase({ criteria: { subject: '' }, reason: 'x', basis: 'gdpr-art17', by: 'dpo' })).rejects.toMatchObject({ code: 'invalid_erasure' });
    await ledger.close();
    await expect(ledger.checkpoint()).rejects.toMatchObject({ code: 'ledger_unavailable', message: 'the ledger is closed' });
    // The last checkpoint, signed on close, covers the erasure entry too.
    const again = new SqliteLedger(config(path));
    expect(await again.verify()).toMatchObject({ ok: true, entries: 4 });
    await again.close();
  });

  it('a checkpoint asked for right after an append covers it: the writer takes them in the order asked', async () => {
    const path = fileWithSideTable();
    const ledger = await ThreadedLedger.open(config(path));
    const appended = ledger.append(sampleRecord({ decisionId: 'just-now' }));
    const note = await ledger.checkpoint();
    expect((await appended).seq).toBe(1);
    expect(note).toContain('\n1\n');
    await ledger.close();
  });

  it('its health is the writer’s: healthy while it runs, unhealthy (listeners told) once it is gone', async () => {
    const path = fileWithSideTable();
    const ledger = await ThreadedLedger.open(config(path));
    expect(ledger.health).toEqual({ ok: true });
    const heard: Array<{ ok: boolean; reason?: string }> = [];
    ledger.onHealthChange((h) => heard.push(h));
    await stopWriter(ledger);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ledger.health).toEqual({ ok: false, reason: "the ledger's writer thread has stopped" });
    expect(heard).toEqual([{ ok: false, reason: "the ledger's writer thread has stopped" }]);
    await expect(ledger.checkpoint()).rejects.toMatchObject({ code: 'ledger_unavailable' });
    await ledger.close();
  });

  it('a second writer on the file is refused as ledger_in_use; a ledger in memory cannot be written from a thread', async () => {
    const path = fileWithSideTable();
    const ledger = await ThreadedLedger.open(config(path));
    await expect(ThreadedLedger.open(config(path))).rejects.toMatchObject({ code: 'ledger_in_use' });
    await expect(ThreadedLedger.open(ledgerConfig(':memory:'))).rejects.toThrow('a ledger in memory cannot be written from another thread');
    await ledger.close();
  });

  it('close writes what was queued first; later appends are refused and their staged writes told so', async () => {
    const path = fileWithSideTable();
    const ledger = await ThreadedLedger.open(config(path));
    const heard: Array<[boolean, readonly RowResult[]]> = [];
    const queued = ledger.append(sampleRecord({ decisionId: 'queued' }), sideRow('q', heard));
    await ledger.close();
    expect((await queued).seq).toBe(1);
    await expect(ledger.append(sampleRecord({ decisionId: 'late' }), sideRow('l', heard))).rejects.toMatchObject({
      code: 'ledger_unavailable',
      message: 'the ledger is closed',
    });
    expect(heard.map(([ok]) => ok)).toEqual([true, false]);
    await ledger.close();
    // Still "closed" once its thread has exited (it exits because it was closed): not "stopped".
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expect(ledger.checkpoint()).rejects.toMatchObject({ message: 'the ledger is closed' });
    await expect(ledger.append(sampleRecord({ decisionId: 'later' }))).rejects.toMatchObject({ message: 'the ledger is closed' });
  });

  it('when the writer thread dies, what waits and what comes later is refused: no answer without its entry', async () => {
    const path = fileWithSideTable();
    const ledger = await ThreadedLedger.open(config(path));
    const heard: Array<[boolean, readonly RowResult[]]> = [];
    const waiting = ledger.append(sampleRecord({ decisionId: 'w' }), sideRow('w', heard));
    await stopWriter(ledger);
    const outcome = await waiting.then(
      (receipt) => ({ receipt }),
      (err: unknown) => ({ err: err as GavelError }),
    );
    const reader = new Database(path, { readonly: true });
    const recorded = reader.prepare("SELECT COUNT(*) AS n FROM entries WHERE decision_id = 'w'").get() as { n: number };
    reader.close();
    if ('receipt' in outcome) {
      // Answered before the thread stopped: then it is recorded.
      expect(recorded.n).toBe(1);
    } else {
      expect(outcome.err.code).toBe('ledger_unavailable');
      expect(outcome.err.message).toContain('no answer is given');
    }
    await expect(ledger.append(sampleRecord({ decisionId: 'after' }), sideRow('a', heard))).rejects.toMatchObject({ code: 'ledger_unavailable' });
    expect(heard.at(-1)?.[0]).toBe(false);
    await ledger.close();
  });
});
