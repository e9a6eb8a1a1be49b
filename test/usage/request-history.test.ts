import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { usageConfig } from '../../src/usage/config.js';
import { RequestHistory, SubjectLog } from '../../src/usage/request-history.js';
import { SqliteUsageStore } from '../../src/usage/sqlite.js';
import type { History } from '../../src/usage/store.js';
import { commitStaged } from './helpers.js';

/**
 * Each subject's history (requests and tool calls in the last minute, denials
 * in the last hour) is kept in memory; the `usage_requests` table is the truth.
 * The oracle counts the table's rows in SQL written here, independently of the
 * store, after any sequence of committed and abandoned requests and of reads
 * moving forward and back in time.
 */

const T0 = Date.parse('2026-11-18T12:00:00Z');
const SUBJECTS = ['alice', 'bob', 'carol'];
const TOOLS = ['', 'search', 'shell'];
const config = usageConfig({});

function oracle(db: Database.Database, subject: string, nowMs: number): History {
  const rows = db.prepare('SELECT tool, decision, at_ms FROM usage_requests WHERE subject = ?').all(subject) as Array<{
    tool: string;
    decision: string;
    at_ms: number;
  }>;
  const history: History = { requests_last_minute: 0, denials_last_hour: 0, tool_calls_last_minute: {} };
  for (const r of rows) {
    if (r.at_ms >= nowMs - 3_600_000 && r.decision === 'deny') history.denials_last_hour++;
    if (r.at_ms < nowMs - 60_000) continue;
    history.requests_last_minute++;
    if (r.tool) history.tool_calls_last_minute[r.tool] = (history.tool_calls_last_minute[r.tool] ?? 0) + 1;
  }
  return history;
}

let ids = 0;
/** One request staged, then committed with the ledger's transaction or given up. */
function request(
  store: SqliteUsageStore,
  db: Database.Database,
  row: { subject: string; tool: string; decision: string; atMs: number },
  commit = true,
  id = `d${++ids}`,
) {
  const staged = store.stage({ request: { decisionId: id, ...row } });
  if (commit) db.transaction(() => commitStaged(db, staged))();
  else staged.finish(false, []);
}

type Step =
  | { kind: 'request'; subject: number; tool: number; deny: boolean; dt: number; commit: boolean }
  | { kind: 'read'; subject: number; dt: number }
  | { kind: 'jump'; dt: number }
  /** The clock moves to the instant a committed row leaves a window, or a millisecond either side. */
  | { kind: 'edge'; pick: number; window: number; off: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('request' as const),
    subject: fc.nat(SUBJECTS.length - 1),
    tool: fc.nat(TOOLS.length - 1),
    deny: fc.boolean(),
    // Mostly at the clock, sometimes a little before or after it (clocks of callers and servers differ).
    dt: fc.oneof(fc.constant(0), fc.integer({ min: -90_000, max: 30_000 })),
    commit: fc.boolean(),
  }),
  // A read a little ahead of the clock, or behind it (answered from the table once the log has moved on).
  fc.record({ kind: fc.constant('read' as const), subject: fc.nat(SUBJECTS.length - 1), dt: fc.integer({ min: -120_000, max: 5_000 }) }),
  // The clock moves on: seconds, about a minute, past the hour; and now and then back.
  fc.record({
    kind: fc.constant('jump' as const),
    dt: fc.oneof(fc.integer({ min: 0, max: 20_000 }), fc.constantFrom(59_999, 60_000, 60_001, 3_600_000), fc.integer({ min: -600_000, max: 0 })),
  }),
  fc.record({ kind: fc.constant('edge' as const), pick: fc.nat(), window: fc.constantFrom(60_000, 3_600_000), off: fc.integer({ min: -1, max: 1 }) }),
);

describe('request history in memory', () => {
  it('after any sequence of requests and reads, equals the rows counted in SQL, at any instant', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 80 }), async (steps) => {
        const db = new Database(':memory:');
        const store = new SqliteUsageStore(db, config);
        const committed: number[] = [];
        let now = T0;
        for (const s of steps) {
          if (s.kind === 'jump') now += s.dt;
          else if (s.kind === 'edge') {
            if (committed.length > 0) now = committed[s.pick % committed.length]! + s.window + s.off;
          } else if (s.kind === 'request') {
            const row = { subject: SUBJECTS[s.subject]!, tool: TOOLS[s.tool]!, decision: s.deny ? 'deny' : 'allow', atMs: now + s.dt };
            request(store, db, row, s.commit);
            if (s.commit) committed.push(row.atMs);
          } else {
            const subject = SUBJECTS[s.subject]!;
            expect(await store.history(subject, now + s.dt)).toEqual(oracle(db, subject, now + s.dt));
          }
          for (const subject of SUBJECTS) expect(await store.history(subject, now)).toEqual(oracle(db, subject, now));
        }
        db.close();
      }),
      { numRuns: 300 },
    );
  });

  it('loads what the table already holds, then follows commits without reading it again', async () => {
    const db = new Database(':memory:');
    const store = new SqliteUsageStore(db, config);
    const insert = db.prepare('INSERT INTO usage_requests(decision_id, subject, tool, decision, at_ms) VALUES (?, ?, ?, ?, ?)');
    // Rows from before this process: an hour of a busy agent, one request a second, one in ten denied.
    for (let i = 0; i < 3600; i++) insert.run(`old${i}`, 'agent', i % 2 ? 'search' : '', i % 10 ? 'allow' : 'deny', T0 - i * 1000);
    expect(await store.history('agent', T0)).toEqual(oracle(db, 'agent', T0));
    expect(await store.history('agent', T0)).toMatchObject({ requests_last_minute: 61, denials_last_hour: 360 });

    // From here on the table is not read for this subject: a row slipped into it behind the store's back is not seen.
    insert.run('behind', 'agent', 'shell', 'deny', T0 + 500);
    request(store, db, { subject: 'agent', tool: 'shell', decision: 'allow', atMs: T0 + 1000 });
    const h = await store.history('agent', T0 + 1000);
    expect(h.tool_calls_last_minute.shell).toBe(1);
    expect(h.denials_last_hour).toBe(oracle(db, 'agent', T0 + 1000).denials_last_hour - 1);
  });

  it('answers a read at an earlier instant from the table', async () => {
    const db = new Database(':memory:');
    const store = new SqliteUsageStore(db, config);
    await store.history('alice', T0);
    request(store, db, { subject: 'alice', tool: 'search', decision: 'deny', atMs: T0 });
    expect((await store.history('alice', T0 + 2 * 3_600_000)).denials_last_hour).toBe(0);
    // Two hours on, the log has let the row go; thirty seconds after it was made, it still counts.
    expect(await store.history('alice', T0 + 30_000)).toEqual({ requests_last_minute: 1, denials_last_hour: 1, tool_calls_last_minute: { search: 1 } });
  });

  it('lets rows that arrived out of time order leave their windows in time order', async () => {
    const db = new Database(':memory:');
    const store = new SqliteUsageStore(db, config);
    await store.history('carol', T0);
    // Committed in this order, stamped 0 s, -30 s, +10 s and -45 s from the clock (callers' clocks differ).
    for (const [dt, decision] of [
      [0, 'allow'],
      [-30_000, 'deny'],
      [10_000, 'allow'],
      [-45_000, 'deny'],
    ] as const) {
      request(store, db, { subject: 'carol', tool: 'search', decision, atMs: T0 + dt });
    }
    for (const at of [T0, T0 + 15_000, T0 + 15_001, T0 + 30_000, T0 + 30_001, T0 + 60_000, T0 + 70_001, T0 + 3_555_001, T0 + 3_570_001]) {
      expect(await store.history('carol', at)).toEqual(oracle(db, 'carol', at));
    }
  });

  it('counts a committed row once and an abandoned one never', async () => {
    const db = new Database(':memory:');
    const store = new SqliteUsageStore(db, config);
    await store.history('bob', T0);
    request(store, db, { subject: 'bob', tool: '', decision: 'deny', atMs: T0 }, true, 'same');
    request(store, db, { subject: 'bob', tool: '', decision: 'deny', atMs: T0 }, true, 'same');
    request(store, db, { subject: 'bob', tool: 'shell', decision: 'deny', atMs: T0 }, false);
    expect(await store.history('bob', T0)).toEqual({ requests_last_minute: 1, denials_last_hour: 1, tool_calls_last_minute: {} });
    expect(oracle(db, 'bob', T0).requests_last_minute).toBe(1);
  });

  it('stays exact while its arrays drop what the windows left behind', async () => {
    const db = new Database(':memory:');
    const store = new SqliteUsageStore(db, config);
    // Ten requests a second for ten minutes, every other one a denied tool call, read after each.
    for (let i = 0; i < 6000; i++) {
      const atMs = T0 + i * 100;
      request(store, db, { subject: 'agent', tool: i % 2 ? 'search' : '', decision: i % 2 ? 'deny' : 'allow', atMs });
      if (i % 500 === 499) expect(await store.history('agent', atMs)).toEqual(oracle(db, 'agent', atMs));
      else await store.history('agent', atMs);
    }
    expect(await store.history('agent', T0 + 6000 * 100)).toEqual({
      requests_last_minute: 600,
      denials_last_hour: 3000,
      tool_calls_last_minute: { search: 300 },
    });
    // Then one denial a second for 75 minutes: the hour's denials leave by the thousand. Every read is checked
    // (against the denials' times kept here: the SQL oracle on every read would take too long).
    const start = T0 + 6000 * 100;
    const denied = Array.from({ length: 3000 }, (_, k) => T0 + (2 * k + 1) * 100);
    for (let i = 1; i <= 4500; i++) {
      const atMs = start + i * 1000;
      request(store, db, { subject: 'agent', tool: '', decision: 'deny', atMs });
      denied.push(atMs);
      const expected = denied.filter((t) => t >= atMs - 3_600_000).length;
      expect((await store.history('agent', atMs)).denials_last_hour).toBe(expected);
      if (i % 900 === 0) expect(await store.history('agent', atMs)).toEqual(oracle(db, 'agent', atMs));
    }
    expect((await store.history('agent', start + 4500 * 1000)).denials_last_hour).toBe(3601);
  });

  it('past its cap on subjects, drops the logs and loads them again', async () => {
    const db = new Database(':memory:');
    new SqliteUsageStore(db, config);
    const history = new RequestHistory(db, 2);
    const insert = db.prepare('INSERT INTO usage_requests(decision_id, subject, tool, decision, at_ms) VALUES (?, ?, ?, ?, ?)');
    for (const [i, s] of SUBJECTS.entries()) insert.run(`r${i}`, s, 'search', 'deny', T0);
    expect(history.read('alice', T0)).toEqual(oracle(db, 'alice', T0));
    expect(history.read('bob', T0)).toEqual(oracle(db, 'bob', T0));
    // Up to the cap, every log is kept; the next subject past it drops them all.
    expect(history.subjects).toBe(2);
    expect(history.read('carol', T0)).toEqual(oracle(db, 'carol', T0));
    expect(history.subjects).toBe(1);
    for (const s of SUBJECTS) expect(history.read(s, T0 + 1)).toEqual(oracle(db, s, T0 + 1));
  });

  it('asks the state guard before each read of its table, and not before a read from memory', () => {
    const db = new Database(':memory:');
    new SqliteUsageStore(db, config);
    let checks = 0;
    const history = new RequestHistory(db, 2, { check: () => checks++ });
    db.prepare('INSERT INTO usage_requests(decision_id, subject, tool, decision, at_ms) VALUES (?, ?, ?, ?, ?)').run('r1', 'alice', 'search', 'deny', T0);
    // The first read loads the subject's log from the table; the next ones are answered from it.
    expect(history.read('alice', T0)).toEqual(oracle(db, 'alice', T0));
    expect(checks).toBe(1);
    history.read('alice', T0 + 1);
    history.read('alice', T0 + 2);
    expect(checks).toBe(1);
    // A read at an earlier instant than the log answers is counted in the table.
    expect(history.read('alice', T0)).toEqual(oracle(db, 'alice', T0));
    expect(checks).toBe(2);
  });

  /**
   * A log drops the counted-out front of its arrays once that front is at least 1,024 rows and over
   * half of the array, so a busy agent's log holds about its windows' rows, not every row since it
   * was loaded. `kept` counts what the arrays hold.
   */
  describe('a log lets go of the rows its windows have left', () => {
    const MINUTE = 60_000;
    const HOUR = 3_600_000;
    /** A log with `rows` requests (or denials) 1 ms apart from T0, read when the first `out` of them are out of the window. */
    function keptAfter(kind: 'requests' | 'denials', rows: number, out: number): { kept: number; counted: History } {
      const log = new SubjectLog(T0);
      for (let i = 0; i < rows; i++) {
        if (kind === 'requests') log.add({ atMs: T0 + i, tool: '', decision: '' });
        else log.addDenial(T0 + i);
      }
      const counted = log.read(T0 + out + (kind === 'requests' ? MINUTE : HOUR));
      if (!counted) throw new Error('the log did not answer');
      return { kept: log.kept, counted };
    }

    for (const kind of ['requests', 'denials'] as const) {
      const live = (c: History) => (kind === 'requests' ? c.requests_last_minute : c.denials_last_hour);
      it(`${kind}: dropped once 1,024 are out and they are over half`, () => {
        const r = keptAfter(kind, 2047, 1024);
        expect(live(r.counted)).toBe(1023);
        expect(r.kept).toBe(1023);
      });
      it(`${kind}: kept while the rows out are exactly half`, () => {
        const r = keptAfter(kind, 2048, 1024);
        expect(live(r.counted)).toBe(1024);
        expect(r.kept).toBe(2048);
      });
      it(`${kind}: kept while fewer than 1,024 are out, however many that is of the array`, () => {
        const r = keptAfter(kind, 1030, 1023);
        expect(live(r.counted)).toBe(7);
        expect(r.kept).toBe(1030);
      });
    }
  });
});
