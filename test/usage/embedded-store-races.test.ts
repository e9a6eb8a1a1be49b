import { describe, expect, it } from 'vitest';
import { newEntryId } from '../../src/lib/entry-id.js';
import { ledgerConfig } from '../../src/ledger/config.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { usageConfig } from '../../src/usage/config.js';
import { SqliteUsageStore } from '../../src/usage/sqlite.js';
import type { ChargeRow, Settlement } from '../../src/usage/store.js';
import { RowChanged, type StagedWrite } from '../../src/engine/ledger.js';
import { sampleRecord } from '../ledger/fixtures.js';
import { commitStaged, storeReservation } from './helpers.js';

/**
 * The embedded store against a real ledger: a settlement whose charge changes between its check and
 * its transaction (a release, another report), an entry the ledger refuses, the settled totals it
 * keeps between reads, and the one kind of row it never takes.
 */
const who = { subject: 's1', team: 't1', costCenter: 'c1' };
const T0 = Date.parse('2026-11-20T10:00:00Z');

function setup(guard?: { check(): void }) {
  const ledger = new SqliteLedger(ledgerConfig(':memory:', { checkpointEvery: 1_000_000, checkpointSeconds: 3600 }));
  const store = new SqliteUsageStore(ledger.db, usageConfig(), guard);
  return { ledger, store };
}

/** Reserves through the ledger, as a decision does: the charge exists because its entry does. */
async function reserve(ledger: SqliteLedger, store: SqliteUsageStore, id: string, atMs = T0): Promise<void> {
  const r = storeReservation(id, atMs, who);
  const staged = store.stage({ request: { decisionId: id, subject: who.subject, tool: '', decision: 'allow', atMs }, reservation: r });
  await ledger.append(sampleRecord({ decisionId: id }), staged);
}

function settlement(id: string, atMs = T0): Settlement {
  return { ...who, decisionId: id, model: 'standard-m', tier: 'standard', inputTokens: 40, outputTokens: 60, costMicros: 1_500, atMs };
}

/** A report's entry: its settlement staged into it, as usage/report.ts records one. */
const appendSettlement =
  (ledger: SqliteLedger, decisionId = newEntryId()) =>
  (_charge: ChargeRow, staged: StagedWrite) =>
    ledger.append(sampleRecord({ decisionId, kind: 'usage' }), staged);

const state = (ledger: SqliteLedger, id: string) =>
  (ledger.db.prepare('SELECT state FROM usage_charges WHERE decision_id = ?').get(id) as { state: string } | undefined)?.state;

describe('a settlement raced in its transaction', () => {
  it('by a release: checked again, it finds the charge gone and answers unknown, recording nothing', async () => {
    const { ledger, store } = setup();
    await reserve(ledger, store, 'd1');
    const before = ledger.db.prepare('SELECT COUNT(*) AS n FROM entries').get();
    let calls = 0;
    const result = await store.settle(settlement('d1'), async (charge, staged) => {
      calls++;
      await store.release('d1'); // lands after the check, before the report's transaction
      return appendSettlement(ledger)(charge, staged);
    });
    expect(result).toEqual({ kind: 'unknown' });
    expect(calls).toBe(1);
    expect(ledger.db.prepare('SELECT COUNT(*) AS n FROM entries').get()).toEqual(before);
    expect((await store.usage('subject', 's1', T0 + 60_000)).day.tokens).toBe(0);
    await ledger.close();
  });

  it('by another report each time: tried three times, then refused with the race as the cause', async () => {
    const { ledger, store } = setup();
    await reserve(ledger, store, 'd2');
    const flip = (to: string) => ledger.db.prepare('UPDATE usage_charges SET state = ? WHERE decision_id = ?').run(to, 'd2');
    let calls = 0;
    const err = await store
      .settle(settlement('d2'), async (charge, staged) => {
        calls++;
        flip('settled');
        try {
          return await appendSettlement(ledger)(charge, staged);
        } finally {
          flip('reserved');
        }
      })
      .catch((e: unknown) => e as Error);
    expect(calls).toBe(3);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).cause).toBeInstanceOf(RowChanged);
    expect(((err as Error).cause as RowChanged).message).toBe('a staged write expected to change 1 row(s) and changed 0: the row changed since it was read');
    expect(state(ledger, 'd2')).toBe('reserved');
    await ledger.close();
  });

  it('written by the caller itself (no ledger between): the race is seen as such, and the check again finds it settled', async () => {
    const { ledger, store } = setup();
    await reserve(ledger, store, 'd3');
    let calls = 0;
    const result = await store.settle(settlement('d3'), async (_charge, staged) => {
      calls++;
      // Another report with the same numbers lands after the check, before this write.
      ledger.db
        .prepare(`UPDATE usage_charges SET state = 'settled', tokens = 100, cost_micros = 1500, input_tokens = 40, output_tokens = 60 WHERE decision_id = 'd3'`)
        .run();
      commitStaged(ledger.db, staged);
    });
    expect(calls).toBe(1);
    expect(result).toEqual({ kind: 'duplicate', tokens: 100, costMicros: 1_500 });
    await ledger.close();
  });

  it('an entry the ledger refuses for another reason is not tried again, and the reservation still counts', async () => {
    const { ledger, store } = setup();
    await reserve(ledger, store, 'd4');
    await reserve(ledger, store, 'other'); // the key keeps a reservation in memory either way
    await ledger.append(sampleRecord({ decisionId: 'taken' }));
    let calls = 0;
    const settling = store.settle(settlement('d4'), (charge, staged) => {
      calls++;
      return appendSettlement(ledger, 'taken')(charge, staged); // a duplicate entry id: the entry fails alone
    });
    await expect(settling).rejects.toThrow();
    expect(calls).toBe(1);
    expect(state(ledger, 'd4')).toBe('reserved');
    const day = (await store.usage('subject', 's1', T0 + 60_000)).day;
    expect(day).toMatchObject({ reserved_tokens: 600, used_tokens: 0 });
    // Settled for real afterwards, it moves from reserved to used.
    expect(await store.settle(settlement('d4'), appendSettlement(ledger))).toEqual({ kind: 'settled' });
    expect((await store.usage('subject', 's1', T0 + 60_000)).day).toMatchObject({ reserved_tokens: 300, used_tokens: 100 });
    await ledger.close();
  });

  it('a release after the charge was settled leaves the settled row and its usage as they were', async () => {
    const { ledger, store } = setup();
    await reserve(ledger, store, 'd5');
    await store.settle(settlement('d5'), appendSettlement(ledger));
    await store.release('d5');
    expect(state(ledger, 'd5')).toBe('settled');
    expect((await store.usage('subject', 's1', T0 + 60_000)).day).toMatchObject({ used_tokens: 100, reserved_tokens: 0 });
    await ledger.close();
  });
});

describe("the embedded store's settled totals between reads", () => {
  it('are read from the tables once per key and window, again when the day or the rolling minute moves on', async () => {
    let checks = 0;
    const { ledger, store } = setup({ check: () => void checks++ });
    await reserve(ledger, store, 'd6');
    await store.settle(settlement('d6'), appendSettlement(ledger));
    const read = async (key: string, atMs: number) => {
      const before = checks;
      const u = await store.usage('subject', key, atMs);
      return { read: checks > before, day: u.day.used_tokens, rolling: u.rolling.used_tokens };
    };
    const at = T0 + 30 * 60_000;
    expect(await read('s1', at)).toEqual({ read: true, day: 100, rolling: 100 });
    expect(await read('s1', at)).toEqual({ read: false, day: 100, rolling: 100 });
    // Another key has its own totals; the first key's stay kept.
    expect(await read('s2', at)).toEqual({ read: true, day: 0, rolling: 0 });
    expect(await read('s1', at)).toEqual({ read: false, day: 100, rolling: 100 });
    // Later the same day, past the rolling window: read again, the charge has left the rolling window.
    expect(await read('s1', T0 + 2 * 3_600_000)).toEqual({ read: true, day: 100, rolling: 0 });
    // The next day: read again, yesterday's charge is not today's.
    expect(await read('s1', T0 + 24 * 3_600_000)).toEqual({ read: true, day: 0, rolling: 0 });
    await ledger.close();
  });
});

describe('the embedded store refuses', () => {
  it('a shared approval change: approvals shared by replicas live beside shared usage only', () => {
    const { store } = setup();
    const rows = { request: { decisionId: 'd7', subject: 's1', tool: '', decision: 'allow', atMs: T0 }, approval: {} as never };
    expect(() => store.stage(rows)).toThrow('a shared approval change reached the embedded usage store');
  });
});
