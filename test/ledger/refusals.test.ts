import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RowResult, StagedWrite } from '../../src/engine/ledger.js';
import { sampleRecord } from './fixtures.js';
import { ledgersClosedAfterEach } from './open-ledgers.js';

/**
 * What a ledger that can no longer write answers, on each of its ways in (append, appendNow,
 * writeRows, handOver): `ledger_unavailable`, with the reason, and a staged write told it was not
 * written. Also the hand-over to a writer thread (threaded.ts) seen from this side, the
 * `synchronous` setting a full-durability ledger keeps across its checkpoints, and erase's and
 * verify's options.
 */

const { ledgerAt, fileLedger } = ledgersClosedAfterEach('gavel-refusals-');

const record = (i: number) => sampleRecord({ decisionId: `r-${i}`, time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() });

function told(): StagedWrite & { outcomes: Array<[boolean, readonly RowResult[]]> } {
  const outcomes: Array<[boolean, readonly RowResult[]]> = [];
  return { writes: [], finish: (ok, results) => void outcomes.push([ok, results]), outcomes };
}

const unavailable = (message: string) => expect.objectContaining({ code: 'ledger_unavailable', message });

describe('a closed ledger', () => {
  it('refuses appends, synchronous appends and row writes as ledger_unavailable, telling a staged write it was not written', async () => {
    const ledger = ledgerAt(':memory:');
    await ledger.append(record(1));
    await ledger.close();
    const staged = told();
    await expect(ledger.append(record(2), staged)).rejects.toEqual(unavailable('the ledger is closed'));
    expect(staged.outcomes).toEqual([[false, []]]);
    expect(() => ledger.appendNow(record(3))).toThrow(unavailable('the ledger is closed'));
    await expect(ledger.writeRows([])).rejects.toEqual(unavailable('the ledger is closed'));
    await expect(ledger.handOver()).rejects.toEqual(unavailable('the ledger is closed'));
  });
});

describe('a ledger whose file is gone', () => {
  it('refuses each way in as ledger_unavailable, saying the file is gone', async () => {
    const { ledger, path } = fileLedger({ fileCheckMs: 60_000 });
    await ledger.append(record(1));
    rmSync(path);
    // The first append after the file went finds it gone; the ones after are refused at the door.
    await expect(ledger.append(record(2))).rejects.toMatchObject({ code: 'ledger_unavailable' });
    const staged = told();
    await expect(ledger.append(record(3), staged)).rejects.toEqual(unavailable('the ledger file is gone; no answer is given'));
    expect(staged.outcomes).toEqual([[false, []]]);
    expect(() => ledger.appendNow(record(4))).toThrow(unavailable('the ledger file is gone'));
    await expect(ledger.writeRows([])).rejects.toEqual(unavailable('the ledger file is gone'));
  });
});

describe('appendNow inside another transaction', () => {
  it('is refused as ledger_unavailable and writes nothing', () => {
    const ledger = ledgerAt(':memory:');
    ledger.db.exec('BEGIN');
    try {
      expect(() => ledger.appendNow(record(1))).toThrow(unavailable('another transaction is open on the ledger connection; the entry was not written'));
    } finally {
      ledger.db.exec('ROLLBACK');
    }
    expect(ledger.size).toBe(0);
  });
});

describe('handOver', () => {
  it('writes what was queued, then refuses appends, releases the writer lock and leaves a read-only connection', async () => {
    const { ledger, path } = fileLedger();
    const queued = ledger.append(record(1));
    const db = await ledger.handOver();
    expect((await queued).seq).toBe(1);
    await expect(ledger.append(record(2))).rejects.toEqual(unavailable('the ledger is closed'));
    expect(() => db.exec('DELETE FROM checkpoints')).toThrow(/readonly|query_only|attempt to write/i);
    expect(db.prepare('SELECT COUNT(*) FROM entries').pluck().get()).toBe(1);
    // The lock went with it: the next writer (the writer thread) opens the same file and carries on.
    const next = ledgerAt(path);
    expect((await next.append(record(2))).seq).toBe(2);
    db.close();
  });

  it('refuses what it could not write first (a transaction open on its connection): not recorded, never lost silently', async () => {
    const ledger = ledgerAt(':memory:');
    ledger.db.exec('BEGIN');
    const staged = told();
    const queued = ledger.append(record(1), staged);
    const db = await ledger.handOver();
    await expect(queued).rejects.toMatchObject({ code: 'ledger_unavailable', message: expect.stringMatching(/^the ledger was handed to its writer thread; /) });
    expect(staged.outcomes).toEqual([[false, []]]);
    db.exec('ROLLBACK');
    expect(db.prepare('SELECT COUNT(*) FROM entries').pluck().get()).toBe(0);
  });

  it('hands over a ledger in memory too (no lock, no WAL checkpointer to stop)', async () => {
    const ledger = ledgerAt(':memory:');
    await ledger.append(record(1));
    const db = await ledger.handOver();
    expect(db.prepare('SELECT COUNT(*) FROM entries').pluck().get()).toBe(1);
    expect(() => db.exec('DELETE FROM checkpoints')).toThrow(/readonly|query_only|attempt to write/i);
  });
});

describe('checkpoints with durability full', () => {
  it('leave the connection at synchronous = FULL (only normal durability relaxes and restores it around one)', async () => {
    const { ledger } = fileLedger({ durability: 'full' });
    await ledger.append(record(1));
    expect(ledger.db.pragma('synchronous', { simple: true })).toBe(2);
    ledger.checkpoint();
    expect(ledger.latestCheckpoint()).toBeDefined();
    expect(ledger.db.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('while normal durability is back at NORMAL after one', async () => {
    const { ledger } = fileLedger({ durability: 'normal' });
    await ledger.append(record(1));
    ledger.checkpoint();
    expect(ledger.db.pragma('synchronous', { simple: true })).toBe(1);
  });
});

describe('erase and verify', () => {
  it('erase refuses a bad request before it queues anything', async () => {
    const ledger = ledgerAt(':memory:');
    await ledger.append(record(1));
    await expect(ledger.erase({ basis: 'whim' as never, reason: 'r', by: 'auditor', criteria: { subject: 'sam' } })).rejects.toMatchObject({
      code: 'invalid_erasure',
    });
    expect(ledger.size).toBe(1);
  });

  it('verify reports its progress on a file ledger, and asks for witnesses when told to', async () => {
    const { ledger } = fileLedger();
    for (let i = 1; i <= 3; i++) await ledger.append(record(i));
    ledger.checkpoint();
    const progress: Array<[number, number]> = [];
    const report = await ledger.verify(undefined, (done, total) => progress.push([done, total]));
    expect(report.ok).toBe(true);
    expect(progress.at(-1)).toEqual([3, 3]);
    // Witnesses asked for and none cosigned: the same chain fails on that alone.
    expect(await ledger.verify(undefined, undefined, { keys: [], min: 1 })).toMatchObject({ ok: false, failure: { kind: 'witnesses_missing' } });
  });
});
