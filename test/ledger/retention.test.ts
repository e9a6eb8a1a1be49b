import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { EntryRecord } from '../../src/engine/ledger.js';
import { ledgerConfig } from '../../src/ledger/config.js';
import { erasureDetail } from '../../src/ledger/erasure.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { RetentionSweeper } from '../../src/runtime/retention.js';
import { sampleRecord } from './fixtures.js';

/** Retention sweeps on a real (in-memory) ledger, driven by hand with a clock the test moves. */
const DAY = 86_400_000;
const T0 = Date.parse('2026-03-01T00:00:00Z');
const open: SqliteLedger[] = [];
afterEach(async () => {
  for (const l of open.splice(0)) await l.close();
});

const record = (id: string, timeMs: number): EntryRecord =>
  sampleRecord({ decisionId: id, time: new Date(timeMs).toISOString(), subjectId: 'sam', payload: { input: { n: id } } });

function harness() {
  const ledger = new SqliteLedger(ledgerConfig(':memory:'));
  open.push(ledger);
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  );
  let now = T0;
  const sweeper = new RetentionSweeper(ledger, { payloadsSeconds: 7 * 86_400 }, () => new Date(now), log);
  const erasures = () =>
    (
      ledger.db.prepare(`SELECT e.seq, p.body FROM entries e JOIN payloads p USING (seq) WHERE e.kind = 'erasure' ORDER BY e.seq`).all() as Array<{
        seq: number;
        body: string;
      }>
    ).map((r) => ({ seq: r.seq, ...erasureDetail(r.body)! }));
  const kept = () =>
    ledger.db.prepare('SELECT e.decision_id FROM entries e JOIN payloads p USING (seq) WHERE e.kind = ? ORDER BY e.seq').pluck().all('decision');
  return { ledger, sweeper, lines, erasures, kept, setNow: (ms: number) => (now = ms) };
}

describe('retention sweeps', () => {
  it('erase what is older than the period, as one retention entry that says why; the count is returned and logged without who', async () => {
    const h = harness();
    for (const [id, ageDays] of [
      ['old-a', 9],
      ['old-b', 8],
      ['young', 6],
    ] as const)
      await h.ledger.append(record(id, T0 - ageDays * DAY));
    expect(await h.sweeper.sweep()).toBe(2);
    expect(h.kept()).toEqual(['young']);
    const [e] = h.erasures();
    expect(e).toMatchObject({
      seq: 4,
      basis: 'retention',
      by: 'gavel',
      reason: `retention: payloads older than 7 days (before ${new Date(T0 - 7 * DAY).toISOString()})`,
      criteria: { before: new Date(T0 - 7 * DAY).toISOString() },
      seqs: [[1, 2]],
    });
    const logged = h.lines.filter((l) => l.msg === 'retention erased payloads');
    expect(logged).toEqual([expect.objectContaining({ erased: 2, seq: 4, erasure_id: expect.any(String), before: new Date(T0 - 7 * DAY).toISOString() })]);
    expect(JSON.stringify(logged)).not.toContain('sam');
    // Nothing older left: no entry, nothing logged.
    expect(await h.sweeper.sweep()).toBe(0);
    expect(h.erasures()).toHaveLength(1);
  });

  it('after a finished sweep, the next looks back from a day before its cutoff only', async () => {
    const h = harness();
    await h.ledger.append(record('old', T0 - 10 * DAY));
    expect(await h.sweeper.sweep()).toBe(1);
    // Recorded late: one from long before the last cutoff (left for the next start), one from just before it (found).
    await h.ledger.append(record('late-long-ago', T0 - 30 * DAY));
    await h.ledger.append(record('late-recent', T0 - 7 * DAY - DAY / 2));
    await h.ledger.append(record('aging', T0 - 6 * DAY));
    h.setNow(T0 + 2 * DAY);
    expect(await h.sweeper.sweep()).toBe(2);
    expect(h.kept()).toEqual(['late-long-ago']);
    expect(h.erasures()[1]!.criteria).toEqual({ before: new Date(T0 - 5 * DAY).toISOString(), since: new Date(T0 - 8 * DAY).toISOString() });
  });

  it('a stopped sweeper erases nothing more; a failed sweep is logged and erases nothing', async () => {
    const h = harness();
    await h.ledger.append(record('old', T0 - 10 * DAY));
    await h.sweeper.stop();
    expect(await h.sweeper.sweep()).toBe(0);
    expect(h.kept()).toEqual(['old']);

    const g = harness();
    await g.ledger.append(record('old', T0 - 10 * DAY));
    await g.ledger.close();
    expect(await g.sweeper.sweep()).toBe(0);
    expect(g.lines.filter((l) => l.msg === 'retention sweep failed')).toHaveLength(1);
  });

  it('refuses a period it could not compute a cutoff for, or a sweep interval no timer keeps', () => {
    const ledger = new SqliteLedger(ledgerConfig(':memory:'));
    open.push(ledger);
    const log = pino({ level: 'silent' });
    const make = (payloadsSeconds: number, sweepSeconds?: number) => () =>
      new RetentionSweeper(ledger, { payloadsSeconds, ...(sweepSeconds !== undefined ? { sweepSeconds } : {}) }, () => new Date(T0), log);
    expect(make(999_999_999 * 86_400)).toThrow(/between 1 second and 100 years/);
    expect(make(0)).toThrow(/between 1 second and 100 years/);
    expect(make(86_400, 0)).toThrow(/between every second and every day/);
    expect(make(86_400, 86_401)).toThrow(/between every second and every day/);
    expect(make(100 * 365 * 86_400, 86_400)).not.toThrow();
  });
});
