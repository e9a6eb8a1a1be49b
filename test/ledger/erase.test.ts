import { afterEach, describe, expect, it } from 'vitest';
import type { EntryRecord } from '../../src/engine/ledger.js';
import { ledgerConfig } from '../../src/ledger/config.js';
import { SqliteShadowSink } from '../../src/ledger/shadow-table.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { sampleRecord } from './fixtures.js';

/**
 * SqliteLedger.erase in this process (test/ledger/erasure.test.ts drives the CLI and a runtime, in a
 * file StrykerJS leaves out): what an erasure takes with the payloads it names, the shadow results of
 * those decisions and, for `before`, every shadow result older than that; and what it records.
 */

const T0 = Date.UTC(2026, 0, 10, 12);
const open: SqliteLedger[] = [];
afterEach(async () => {
  for (const l of open.splice(0)) await l.close();
});

const record = (id: string, subject: string, atMs: number): EntryRecord =>
  sampleRecord({ decisionId: id, time: new Date(atMs).toISOString(), subjectId: subject, payload: { input: { subject } } });

async function ledgerWithShadows(): Promise<SqliteLedger> {
  const ledger = new SqliteLedger(ledgerConfig(':memory:'));
  open.push(ledger);
  await ledger.append(record('d-1', 'sam', T0));
  await ledger.append(record('d-2', 'jane', T0 + 1000));
  // The sink makes the table, as a server with shadow bundles does.
  new SqliteShadowSink(ledger.db);
  const shadow = ledger.db.prepare(`INSERT INTO shadow_decisions VALUES (?, ?, ?, 'e', 'b', 'r', 'd', 'allow', '[]', 'b', 'r2', 'd2', 'deny', '[]')`);
  for (const [id, at] of [
    ['d-1', T0],
    ['d-2', T0 + 1000],
    ['no-entry-old', T0 - 86_400_000],
    ['no-entry-new', T0 + 86_400_000],
  ] as const)
    shadow.run(id, new Date(at).toISOString(), at);
  return ledger;
}

const shadows = (l: SqliteLedger) => l.db.prepare('SELECT decision_id FROM shadow_decisions ORDER BY time_ms').pluck().all();
const request = (criteria: { subject: string } | { decision: string } | { before: string }) => ({
  criteria,
  reason: 'legal order 1',
  basis: 'legal-order' as const,
  by: 'counsel',
});

describe('erase', () => {
  it('takes the payloads it names and their decisions’ shadow results, recorded in one erasure entry', async () => {
    const ledger = await ledgerWithShadows();
    const r = await ledger.erase(request({ subject: 'sam' }), { now: new Date(T0 + 5000) });
    expect(r).toMatchObject({ erased: 1, seqs: [[1, 1]], entry: { seq: 3 } });
    expect(ledger.db.prepare('SELECT seq FROM payloads ORDER BY seq').pluck().all()).toEqual([2, 3]);
    expect(shadows(ledger)).toEqual(['no-entry-old', 'd-2', 'no-entry-new']);
  });

  it('`before` takes the shadow results older than it even when no payload is left to erase; no entry then', async () => {
    const ledger = await ledgerWithShadows();
    // Before T0: no decision is that old, one shadow result is.
    const r = await ledger.erase(request({ before: new Date(T0 - 1).toISOString() }));
    expect(r).toEqual({ erased: 0, seqs: [] });
    expect(ledger.size).toBe(2);
    expect(shadows(ledger)).toEqual(['d-1', 'd-2', 'no-entry-new']);
    // Up to T0 + 1 s: the first decision's payload and everything shadowed before it.
    const next = await ledger.erase(request({ before: new Date(T0 + 1).toISOString() }));
    expect(next).toMatchObject({ erased: 1, seqs: [[1, 1]], entry: { seq: 3 } });
    expect(shadows(ledger)).toEqual(['d-2', 'no-entry-new']);
  });

  it('a ledger without shadow results erases payloads alone', async () => {
    const ledger = new SqliteLedger(ledgerConfig(':memory:'));
    open.push(ledger);
    await ledger.append(record('d-1', 'sam', T0));
    expect(await ledger.erase(request({ decision: 'd-1' }))).toMatchObject({ erased: 1, seqs: [[1, 1]] });
    expect(await ledger.erase(request({ decision: 'd-1' }))).toEqual({ erased: 0, seqs: [] });
  });
});
