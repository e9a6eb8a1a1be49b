import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ledgerConfig } from '../../src/ledger/config.js';
import { activationBefore, pageCursor, parseDecision, parseKind, policyEntries, queryEntries } from '../../src/ledger/query.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { tempDir } from '../helpers/paths.js';
import { copyLedger, sampleRecord } from './fixtures.js';

/**
 * Audit queries on a file from before entry kinds, paging by time where times and seqs disagree, and
 * the refusals a caller reads (gavel audit query, the Query service, the console).
 */
const at = (minute: number) => new Date(Date.UTC(2026, 11, 5, 10, minute)).toISOString();

async function ledgerWith(records: Array<Parameters<typeof sampleRecord>[0]>): Promise<{ path: string; ledger: SqliteLedger }> {
  const path = join(tempDir(), 'ledger.db');
  const ledger = new SqliteLedger(ledgerConfig(path, { checkpointEvery: 1_000_000, checkpointSeconds: 3600 }));
  for (const r of records) await ledger.append(sampleRecord(r));
  return { path, ledger };
}

describe('a ledger from before entry kinds (every entry a decision)', () => {
  it('answers a decision kind with every entry, any other kind with none, and has no policy events', async () => {
    const { path, ledger } = await ledgerWith([
      { decisionId: 'd1', time: at(1) },
      { decisionId: 'p1', kind: 'policy', decision: 'activated', time: at(2) },
    ]);
    await ledger.close();
    const copy = copyLedger(path);
    const old = new Database(copy);
    old.exec('DROP INDEX entries_kind; ALTER TABLE entries DROP COLUMN kind');
    const ids = (kind?: string) => [...queryEntries(old, { order: 'asc', ...(kind ? { kind } : {}) })].map((e) => e.decisionId);
    expect(ids()).toEqual(['d1', 'p1']);
    expect(ids('DECISION')).toEqual(['d1', 'p1']);
    expect(ids('policy')).toEqual([]);
    expect(() => ids('bogus')).toThrow('kind must be one of decision, policy, approval, usage, state, offline, erasure, got "bogus"');
    expect([...policyEntries(old)]).toEqual([]);
    expect(activationBefore(old, 10)).toBeUndefined();
    old.close();
    // The same file with kinds: the policy event is one.
    const current = new Database(path, { readonly: true });
    expect([...policyEntries(current)].map((e) => e.decisionId)).toEqual(['p1']);
    expect(activationBefore(current, 10)?.decisionId).toBe('p1');
    current.close();
  });
});

describe('paging by time', () => {
  it('follows the times, not the seqs, when only time bounds filter (an offline decision recorded late)', async () => {
    // seq 1 at minute 3, seq 2 at minute 1 (recorded late), seq 3 at minute 2.
    const { ledger } = await ledgerWith([
      { decisionId: 'late-3', time: at(3) },
      { decisionId: 'early-1', time: at(1) },
      { decisionId: 'mid-2', time: at(2) },
    ]);
    const page = (filter: Parameters<typeof queryEntries>[1]) => [...queryEntries(ledger.db, { since: at(0), limit: 1, ...filter })];
    const first = page({});
    expect(first.map((e) => e.decisionId)).toEqual(['late-3']);
    const second = page({ cursor: pageCursor(first[0]!) });
    expect(second.map((e) => e.decisionId)).toEqual(['mid-2']);
    expect(page({ cursor: pageCursor(second[0]!) }).map((e) => e.decisionId)).toEqual(['early-1']);
    const asc = page({ order: 'asc' });
    expect(asc.map((e) => e.decisionId)).toEqual(['early-1']);
    expect(page({ order: 'asc', cursor: pageCursor(asc[0]!) }).map((e) => e.decisionId)).toEqual(['mid-2']);
    await ledger.close();
  });
});

describe('refusals', () => {
  it('name the field, what it must be and what was given', async () => {
    const { ledger } = await ledgerWith([{ decisionId: 'd1' }]);
    const q = (filter: Parameters<typeof queryEntries>[1]) => [...queryEntries(ledger.db, filter)];
    expect(() => q({ since: 'yesterday' })).toThrow('since must be an RFC 3339 time or a duration like 24h, got "yesterday"');
    expect(() => q({ until: 'soon' })).toThrow('until must be an RFC 3339 time or a duration like 24h, got "soon"');
    expect(() => q({ limit: 0 })).toThrow('limit must be an integer between 1 and 100000, got 0');
    expect(() => q({ cursor: { seq: 1.5, timeMs: 0 } })).toThrow('the page cursor is not one gavel made');
    expect(() => parseDecision('maybe')).toThrow(/^decision must be one of allow, deny, .*, got "maybe"$/);
    expect(() => parseKind('Nope')).toThrow(expect.objectContaining({ code: 'invalid_query' }));
    await ledger.close();
  });
});
