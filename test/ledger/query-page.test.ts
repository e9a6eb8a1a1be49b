import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageCursor, type QueryFilter } from '../../src/ledger/query.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { tempDir } from '../helpers/paths.js';
import { coreOptions, decideVia, echoInput } from './fixtures.js';

/**
 * The console's filters (cost center, caller, model or tool, reason code) and keyset paging:
 * pages follow each other without a gap or a repeat, in either order, while entries keep arriving.
 */
describe('audit query: console filters and keyset pages', () => {
  let core: Runtime;
  beforeAll(async () => {
    core = await startRuntime(coreOptions(join(tempDir(), 'ledger.db')));
    for (let i = 0; i < 30; i++) {
      const input = echoInput({
        subject: `s${i % 3}`,
        team: i % 2 ? 'odd' : 'even',
        model: i % 5 === 0 ? 'big-m' : 'standard-m',
        decision: i % 4 === 0 ? 'deny' : 'allow',
        reasons: i % 4 === 0 ? [{ code: 'over_budget', rule: 'r.b', effect: 'deny' }] : [{ code: 'allowed', rule: 'r.d', effect: 'allow' }],
        extra: { subject: { id: `s${i % 3}`, team: i % 2 ? 'odd' : 'even', cost_center: i < 10 ? 'cc-1' : 'cc-2' } },
      });
      await core.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: '', caller: i % 6 === 0 ? 'gw-b' : 'gw-a' });
    }
  });
  afterAll(() => core.stop());

  const all = (filter: QueryFilter) => [...core.audit.query({ limit: 1000, ...filter })];

  it('filters by cost center, caller, model and reason code (each alone and together)', () => {
    expect(all({ costCenter: 'cc-1' }).map((e) => e.costCenter)).toEqual(Array(10).fill('cc-1'));
    expect(all({ caller: 'gw-b' })).toHaveLength(5);
    expect(all({ caller: 'gw-b' }).every((e) => e.caller === 'gw-b')).toBe(true);
    expect(all({ resource: 'big-m' })).toHaveLength(6);
    const denied = all({ reason: 'over_budget' });
    expect(denied).toHaveLength(8);
    expect(denied.every((e) => e.reasonCodes.includes('over_budget'))).toBe(true);
    // A code that is a prefix of another, or a substring of the JSON text, matches nothing.
    expect(all({ reason: 'over' })).toHaveLength(0);
    expect(all({ reason: 'allowed', costCenter: 'cc-2', resource: 'big-m' }).map((e) => e.seq)).toEqual([26, 16, 11]);
  });

  it('pages newest first without a gap or a repeat, also while entries are appended', async () => {
    const seen: number[] = [];
    let cursor: QueryFilter['cursor'];
    for (let page = 0; page < 10; page++) {
      const rows = all({ limit: 7, ...(cursor ? { cursor } : {}) });
      if (rows.length === 0) break;
      seen.push(...rows.map((e) => e.seq));
      cursor = pageCursor(rows.at(-1)!);
      // New entries at the head do not shift the pages still to come.
      if (page === 1) await decideVia(core, echoInput({ subject: 'late' }));
    }
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => 30 - i));
  });

  it('pages oldest first, and by time when only time bounds filter', () => {
    const asc = all({ order: 'asc', limit: 4, cursor: { seq: 10, timeMs: 0 } }).map((e) => e.seq);
    expect(asc).toEqual([11, 12, 13, 14]);
    const byTime = all({ since: '2000-01-01T00:00:00Z', limit: 5 });
    const next = all({ since: '2000-01-01T00:00:00Z', limit: 5, cursor: pageCursor(byTime.at(-1)!) });
    expect(next[0]!.seq).toBe(byTime.at(-1)!.seq - 1);
    expect(new Set([...byTime, ...next].map((e) => e.seq)).size).toBe(10);
  });

  it('refuses a cursor gavel did not make', () => {
    expect(() => all({ cursor: { seq: 1.5, timeMs: 0 } })).toThrow(/cursor/);
    expect(() => all({ cursor: { seq: 3, timeMs: Number.NaN } })).toThrow(/cursor/);
  });
});
