import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { ledgerConfig } from '../../src/ledger/config.js';
import { LedgerRecordedDecisions, recordedFilter } from '../../src/ledger/recorded-decisions.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { tempDir } from '../helpers/paths.js';
import { sampleRecord } from './fixtures.js';

it('reads every recorded decision in seq order across pages, honours the limit, and stops at the last entry of its start', async () => {
  const path = join(tempDir(), 'ledger.db');
  const ledger = new SqliteLedger(ledgerConfig(path));
  const append = (from: number, to: number) =>
    Promise.all(Array.from({ length: to - from }, (_, i) => ledger.append(sampleRecord({ decisionId: `d-${from + i}` }))));
  await append(0, 2600);
  const db = new Database(path, { readonly: true });
  try {
    const source = new LedgerRecordedDecisions(db);
    expect(source.count({})).toBe(2600);
    const ids: string[] = [];
    let appendedMidway = false;
    for (const r of source.read({})) {
      ids.push(r.decisionId);
      // Appended while the read is under way (between pages): not part of this read.
      if (ids.length === 1500 && !appendedMidway) {
        appendedMidway = true;
        await append(2600, 2700);
      }
    }
    expect(ids).toEqual(Array.from({ length: 2600 }, (_, i) => `d-${i}`));
    expect([...source.read({ limit: 1100 })].map((r) => r.decisionId)).toEqual(Array.from({ length: 1100 }, (_, i) => `d-${i}`));
    expect([...source.read({ limit: 2048 })].length).toBe(2048);
    expect(source.count({})).toBe(2700);
  } finally {
    db.close();
    await ledger.close();
  }
});

it('selects by subject, team and time, decisions only; counts at most the limit; relative times are taken from its clock', async () => {
  const ledger = new SqliteLedger(ledgerConfig(':memory:'));
  const at = (h: number) => new Date(Date.UTC(2026, 10, 18, h)).toISOString();
  await ledger.append(sampleRecord({ decisionId: 'a1', subjectId: 'alice', team: 'red', time: at(1) }));
  await ledger.append(sampleRecord({ decisionId: 'a2', subjectId: 'alice', team: 'blue', time: at(2) }));
  await ledger.append(sampleRecord({ decisionId: 'b1', subjectId: 'bob', team: 'red', time: at(3) }));
  await ledger.append(sampleRecord({ decisionId: 'p1', kind: 'policy', subjectId: 'alice', team: 'red', time: at(4) }));
  const source = new LedgerRecordedDecisions(ledger.db, () => new Date(Date.UTC(2026, 10, 18, 5)));
  const ids = (filter: Parameters<typeof source.read>[0]) => [...source.read(filter)].map((r) => r.decisionId);
  expect(ids({})).toEqual(['a1', 'a2', 'b1']);
  expect(ids({ subject: 'alice' })).toEqual(['a1', 'a2']);
  expect(ids({ team: 'red' })).toEqual(['a1', 'b1']);
  expect(ids({ since: at(2), until: at(3) })).toEqual(['a2']);
  // "3h" before the clock's 05:00 is 02:00.
  expect(ids({ since: '3h' })).toEqual(['a2', 'b1']);
  expect(source.count({ since: '3h' })).toBe(2);
  expect(source.count({ limit: 2 })).toBe(2);
  expect(source.count({ limit: 10 })).toBe(3);
  // Without a clock of its own, relative times are taken from now (these entries are in the past).
  expect(new LedgerRecordedDecisions(ledger.db).count({ since: '1h' })).toBe(0);
  expect(new LedgerRecordedDecisions(ledger.db).count({ since: '100000d' })).toBe(3);
  for (const limit of [0, -1, 1.5]) {
    expect(() => source.count({ limit })).toThrow(
      expect.objectContaining({ code: 'invalid_query', message: `limit must be a positive integer, got ${limit}` }),
    );
  }
  await ledger.close();
});

it('a ledger from before entry kinds is read whole, every entry a decision', () => {
  const db = new Database(':memory:');
  db.exec(`CREATE TABLE entries (seq INTEGER PRIMARY KEY, decision_id TEXT, time TEXT, time_ms INTEGER, subject_id TEXT, team TEXT,
    entrypoint TEXT, bundle TEXT, revision TEXT, digest TEXT, decision TEXT, reason_codes TEXT);
    CREATE TABLE payloads (seq INTEGER PRIMARY KEY, body TEXT);
    INSERT INTO entries VALUES (1, 'old-1', '2026-11-18T01:00:00.000Z', 0, 'alice', 'red', 'gavel/ai/decision', 'ai', 'r1', 'sha256:x', 'allow', '["ok"]');
    INSERT INTO payloads VALUES (1, '{}');`);
  const read = [...new LedgerRecordedDecisions(db).read({})];
  expect(read).toEqual([
    {
      seq: 1,
      decisionId: 'old-1',
      time: '2026-11-18T01:00:00.000Z',
      entrypoint: 'gavel/ai/decision',
      bundle: 'ai',
      revision: 'r1',
      digest: 'sha256:x',
      decision: 'allow',
      reasonCodes: ['ok'],
      payload: '{}',
    },
  ]);
});

it('a replay filter from request fields drops the empty ones, fixes relative times at now, and refuses a time out of range', () => {
  const now = new Date(Date.UTC(2026, 10, 18, 5));
  expect(recordedFilter({ since: '', until: '', subject: '', team: '', limit: 0 }, now)).toEqual({});
  expect(recordedFilter({ since: '2h', until: '2026-11-18T04:00:00Z', subject: 'alice', team: 'red', limit: 5 }, now)).toEqual({
    since: '2026-11-18T03:00:00.000Z',
    until: '2026-11-18T04:00:00.000Z',
    subject: 'alice',
    team: 'red',
    limit: 5,
  });
  expect(() => recordedFilter({ until: '999999999d' }, now)).toThrow(
    expect.objectContaining({ code: 'invalid_query', message: 'until is out of range, got "999999999d"' }),
  );
});
