import { unlinkSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LedgerConfig } from '../../src/ledger/config.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { ThreadedLedger } from '../../src/ledger/threaded.js';
import { sampleRecord } from './fixtures.js';
import { fileWithSideTable, threadConfig as config, writerExit } from './writer-thread.js';

/**
 * The ledger's writer thread (issue 30) beside appends: the reads this thread serves from the file
 * the writer writes, rows written there, waited-for calls and what they can meet, the writer's own
 * health news, and what close leaves. The writer is real (serveWriter), with extras of the test's
 * own (test/ledger/children/extras-writer.ts).
 */
const EXTRAS = new URL('./children/extras-writer.mjs', import.meta.url);

describe('a ledger written by its own thread, beside its appends', () => {
  /** Every ledger a test opened, closed after it whether it passed or not (close is idempotent). */
  const opened: ThreadedLedger[] = [];
  afterEach(async () => {
    for (const ledger of opened.splice(0)) await ledger.close().catch(() => undefined);
  });
  async function open(c: LedgerConfig): Promise<ThreadedLedger> {
    const ledger = await ThreadedLedger.open(c, { entry: EXTRAS });
    opened.push(ledger);
    return ledger;
  }

  it('serves reads here from what the writer committed, on a connection that cannot write, with the file’s own key', async () => {
    const path = fileWithSideTable();
    const ledger = await open(config(path));
    expect(ledger.db.readonly).toBe(true);
    expect(() => ledger.db.exec("INSERT INTO side VALUES ('x', 1)")).toThrow(/readonly/);
    for (const id of ['a', 'b', 'c']) await ledger.append(sampleRecord({ decisionId: id, requestId: `req-${id}` }));
    expect([...ledger.query({})].map((e) => e.decisionId)).toEqual(['c', 'b', 'a']);
    expect(ledger.get('b')).toMatchObject({ seq: 2, decisionId: 'b' });
    expect(ledger.findRequest('tester', 'req-c', 0)).toMatchObject({ seq: 3, decisionId: 'c' });
    expect(ledger.latestCheckpoint()).toBeUndefined();
    const note = await ledger.checkpoint();
    expect(ledger.latestCheckpoint()).toBe(note);
    const progress: number[] = [];
    const report = await ledger.verify(undefined, (done) => progress.push(done));
    expect(report).toMatchObject({ ok: true, entries: 3, checkpointsChecked: 1 });
    expect(progress.at(-1)).toBe(3);
    // A checkpoint given from elsewhere is checked too: one signed by another ledger's key is refused.
    const other = new SqliteLedger(config(fileWithSideTable()));
    await other.append(sampleRecord({ decisionId: 'elsewhere' }));
    const foreign = other.checkpoint()!;
    await other.close();
    expect(await ledger.verify(foreign)).toMatchObject({ ok: false });
    expect(await ledger.verify(note)).toMatchObject({ ok: true });
    // Witnesses asked for and none cosigned: refused.
    expect(await ledger.verify(undefined, undefined, { keys: [], min: 1 })).toMatchObject({ ok: false, failure: { kind: 'witnesses_missing' } });
    const verifierKey = ledger.verifierKey();
    const origin = ledger.origin;
    const status = ledger.policyStatus();
    await ledger.close();
    expect(ledger.db.open).toBe(false);
    // The same file on one thread says the same.
    const same = new SqliteLedger(config(path));
    expect(verifierKey).toBe(same.verifierKey());
    expect(origin).toBe(same.origin);
    expect(status).toEqual(same.policyStatus());
    await same.close();
  });

  it('writes rows outside the chain on the writer, after the appends sent before them; a row that changed is refused', async () => {
    const path = fileWithSideTable();
    const ledger = await open(config(path));
    const appended = ledger.append(sampleRecord({ decisionId: 'first' }));
    await ledger.writeRows([{ sql: 'INSERT INTO side (id, n) VALUES (?, ?)', params: ['r', 1] }]);
    expect((await appended).seq).toBe(1);
    expect(ledger.db.prepare('SELECT id, n FROM side').all()).toEqual([{ id: 'r', n: 1 }]);
    await expect(ledger.writeRows([{ sql: "UPDATE side SET n = 2 WHERE id = 'gone'", params: [], changes: 1 }])).rejects.toThrow(
      /expected to change 1 row\(s\) and changed 0/,
    );
    await ledger.close();
  });

  it('a waited-for call: its result, its refusal with codes, its writer’s limits; too slow is ledger_unavailable, after close refused', async () => {
    const path = fileWithSideTable();
    const ledger = await open(config(path));
    expect(ledger.extraNow('limits', null)).toMatchObject({ maxYoungGenerationSizeMb: 4 });
    let refusal: (Error & { code?: string; cause?: { code?: string; message?: string } }) | undefined;
    try {
      ledger.extraNow('refuse', null);
    } catch (err) {
      refusal = err as typeof refusal;
    }
    expect(refusal).toMatchObject({ code: 'invalid_erasure', message: 'the extra refused', cause: { code: 'EWHY', message: 'why it refused' } });
    expect(() => ledger.extraNow('nothing', null)).toThrow("the ledger's writer has no nothing");
    expect(() => ledger.extraNow('sleep', 400, 20)).toThrow(
      expect.objectContaining({ code: 'ledger_unavailable', message: expect.stringContaining('did not answer sleep') }),
    );
    // The slow one finishes there; the thread carries on.
    expect(ledger.extraNow('sleep', 0)).toBe('slept');
    await ledger.close();
    expect(() => ledger.extraNow('limits', null)).toThrow(expect.objectContaining({ code: 'ledger_unavailable', message: 'the ledger is closed' }));
  });

  it('the head never goes back: a call’s answer that overtook an older batch’s keeps the newer size', async () => {
    const path = fileWithSideTable();
    const ledger = await open(config(path));
    const before = ledger.append(sampleRecord({ decisionId: 'before' }));
    // Sends 'before' first, then appends one more on the writer: its answer says size 2 before 'before''s batch is heard here.
    expect(ledger.extraNow('append', 'inside')).toBe(2);
    expect(ledger.size).toBe(2);
    expect((await before).seq).toBe(1);
    expect(ledger.size).toBe(2);
    expect(ledger.headHash).toBe(ledger.get('inside')!.entryHash);
    await ledger.close();
  });

  it('hears the writer’s health: a ledger file deleted under it is news here; a close by its owner is not', async () => {
    const path = fileWithSideTable();
    const ledger = await open(config(path, { fileCheckMs: 20 }));
    const heard: Array<{ ok: boolean; reason?: string }> = [];
    ledger.onHealthChange((h) => heard.push(h));
    unlinkSync(path);
    await vi.waitFor(() => expect(ledger.health.ok).toBe(false), { timeout: 10_000, interval: 20 });
    expect(heard).toEqual([ledger.health]);
    expect(ledger.health.reason).toMatch(/ledger/);
    await ledger.close().catch(() => undefined);

    const other = await open(config(fileWithSideTable()));
    const told: unknown[] = [];
    other.onHealthChange((h) => told.push(h));
    const exited = writerExit(other);
    await other.close();
    // Its thread exits because it was closed: that is no news.
    await exited;
    expect(told).toEqual([]);
    expect(other.health).toEqual({ ok: true });
  });
});
