import Database from 'better-sqlite3';
import { expect, it, vi } from 'vitest';
import type { ShadowRecord } from '../../src/engine/shadow/shadow.js';
import { codesOf } from '../../src/ledger/recorded-decisions.js';
import { shadowRecords, SqliteShadowSink } from '../../src/ledger/shadow-table.js';
import { eventually } from '../helpers/health.js';

const side = (decision: string) => ({ bundle: 'ai', revision: 'r', digest: 'sha256:x', decision, reasonCodes: [decision === 'deny' ? 'no' : 'ok'] });
const record = (i: number): ShadowRecord => ({
  decisionId: `d-${i}`,
  time: new Date(Date.UTC(2026, 10, 30, 0, 0, i)).toISOString(),
  entrypoint: 'gavel/ai/decision',
  live: side('allow'),
  shadow: side(i % 3 === 0 ? 'deny' : 'allow'),
});

it('writes shadow rows in slices, one event-loop turn apart, and reads them back oldest first', async () => {
  const db = new Database(':memory:');
  const sink = new SqliteShadowSink(db);
  for (let i = 0; i < 300; i++) sink.record(record(i));
  const count = () => (db.prepare('SELECT count(*) AS n FROM shadow_decisions').get() as { n: number }).n;
  expect(count()).toBe(0);
  sink.flush(false);
  // One slice now; the rest on later turns.
  expect(count()).toBe(128);
  expect(await eventually(() => count() === 300)).toBe(true);
  expect(sink.written).toBe(300);
  const back = [...shadowRecords(db)];
  expect(back.map((r) => r.decisionId)).toEqual(Array.from({ length: 300 }, (_, i) => `d-${i}`));
  expect(back[3]).toEqual(record(3));
  expect([...shadowRecords(db, { since: '2026-11-30T00:04:00Z' })].length).toBe(60);
  expect([...shadowRecords(db, { until: '2026-11-30T00:00:10Z' })].map((r) => r.decisionId)).toEqual(Array.from({ length: 10 }, (_, i) => `d-${i}`));
  sink.close();
  sink.record(record(999));
  sink.flush();
  expect(count()).toBe(300);
});

it('rows wait for the flush timer, then go in slices one turn apart; close writes what waits at once', () => {
  vi.useFakeTimers();
  try {
    const db = new Database(':memory:');
    const sink = new SqliteShadowSink(db);
    const count = () => (db.prepare('SELECT count(*) AS n FROM shadow_decisions').get() as { n: number }).n;
    for (let i = 0; i < 300; i++) sink.record(record(i));
    vi.advanceTimersByTime(249);
    expect(count()).toBe(0);
    // One timer for the batch, however many rows: 250 ms after the first, one slice.
    vi.advanceTimersByTime(1);
    expect(count()).toBe(128);
    vi.advanceTimersByTime(1);
    expect(count()).toBe(256);
    vi.advanceTimersByTime(1);
    expect(count()).toBe(300);
    for (let i = 300; i < 500; i++) sink.record(record(i));
    sink.close();
    expect(count()).toBe(500);
    expect(vi.getTimerCount()).toBe(0);
    expect(sink.written).toBe(500);
  } finally {
    vi.useRealTimers();
  }
});

it('a batch that cannot be written is counted lost, and later ones still land', () => {
  const db = new Database(':memory:');
  const sink = new SqliteShadowSink(db);
  db.exec("CREATE TRIGGER refuse BEFORE INSERT ON shadow_decisions WHEN NEW.decision_id = 'd-1' BEGIN SELECT RAISE(ABORT, 'no'); END");
  for (let i = 0; i < 3; i++) sink.record(record(i));
  sink.flush();
  expect(sink.lost).toBe(3);
  sink.record(record(5));
  sink.flush();
  expect(sink.written).toBe(1);
});

it('a ledger file without shadow rows reads as none', () => {
  expect([...shadowRecords(new Database(':memory:'))]).toEqual([]);
});

it('reason codes from a damaged column read as none, never a crash', () => {
  expect(codesOf('not json')).toEqual([]);
  expect(codesOf('{"a":1}')).toEqual([]);
  expect(codesOf('["a",1,"b"]')).toEqual(['a', 'b']);
});

it("with the ledger's writer thread (rows handed over and answered later): counted once answered, flush and close wait for it, nothing handed over for an empty batch", async () => {
  const db = new Database(':memory:');
  const batches: number[] = [];
  let answer: (ok: boolean) => void = () => undefined;
  const sink = new SqliteShadowSink(db, (writes) => {
    batches.push(writes.length);
    return new Promise<void>((resolve, reject) => {
      answer = (ok) => (ok ? resolve() : reject(new Error('the writer refused the rows')));
    });
  });
  await sink.flush();
  expect(batches).toEqual([]);
  sink.record(record(1));
  sink.record(record(2));
  let flushed = false;
  const flushing = sink.flush().then(() => (flushed = true));
  await new Promise((r) => setImmediate(r));
  expect([batches, sink.written, flushed]).toEqual([[2], 0, false]);
  answer(true);
  await flushing;
  expect([sink.written, sink.lost]).toEqual([2, 0]);
  sink.record(record(3));
  const closing = sink.close();
  answer(false);
  await closing;
  expect([batches, sink.written, sink.lost]).toEqual([[2, 1], 2, 1]);
});
