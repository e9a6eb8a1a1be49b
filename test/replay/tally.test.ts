import { describe, expect, it } from 'vitest';
import type { Comparison } from '../../src/engine/replay/compare.js';
import { EXAMPLES, Tally } from '../../src/engine/replay/tally.js';

/**
 * The replay and shadow report (engine/replay/tally.ts) as an auditor reads it: counts that add up,
 * exact and approximate decisions apart, and every list and map in a stable order (transitions the
 * largest first, outcomes in precedence order, reason codes the most frequent first), compared here
 * by the order of keys in the JSON, which `toEqual` alone does not look at.
 */

let n = 0;
function change(from: string, to: string, fromCodes: string[] = [], toCodes: string[] = [], approximate = false): Comparison {
  return { decisionId: `d-${++n}`, from: { decision: from, reasonCodes: fromCodes }, to: { decision: to, reasonCodes: toCodes }, approximate };
}

/** The report as JSON text gives it: keys in their order. */
const asJson = (t: Tally) => JSON.parse(JSON.stringify(t.report()));

describe('Tally', () => {
  it('counts what was replayed: exact unchanged and changed, approximate apart, skipped by why', () => {
    const t = new Tally();
    t.add(change('allow', 'allow', ['ok'], ['ok']));
    t.add(change('allow', 'allow', ['ok'], ['ok']));
    t.add(change('allow', 'deny', ['ok'], ['no']));
    t.add(change('deny', 'deny', ['no'], ['no'], true));
    t.add(change('deny', 'allow', ['no'], ['ok'], true));
    t.add(change('redact', 'redact', [], [], true));
    t.skip('payload_erased');
    t.skip('entrypoint_missing');
    t.skip('payload_erased');
    const r = t.report();
    expect([r.replayed, r.unchanged, r.changed, r.approximate, r.skipped]).toEqual([6, 2, 1, 3, 3]);
    expect([r.approximate_detail.unchanged, r.approximate_detail.changed]).toEqual([2, 1]);
    expect(asJson(t).skipped_detail).toEqual({ entrypoint_missing: 1, payload_erased: 2 });
    expect(Object.keys(asJson(t).skipped_detail)).toEqual(['entrypoint_missing', 'payload_erased']);
    expect(r.transitions.map((x) => `${x.from}>${x.to}`)).toEqual(['allow>deny']);
    expect(r.approximate_detail.transitions.map((x) => `${x.from}>${x.to}`)).toEqual(['deny>allow']);
  });

  it('a same decision with other reason codes is a change; the codes that came and went are counted, the shared ones not', () => {
    const t = new Tally();
    t.add(change('deny', 'deny', ['kept', 'gone'], ['kept', 'new']));
    t.add(change('deny', 'deny', ['kept', 'gone'], ['kept', 'new', 'extra']));
    const [only] = t.report().transitions;
    expect(only).toEqual({
      from: 'deny',
      to: 'deny',
      count: 2,
      reasons_added: { new: 2, extra: 1 },
      reasons_removed: { gone: 2 },
      examples: ['d-' + (n - 1), `d-${n}`],
    });
    // The most frequent first.
    expect(Object.keys(only!.reasons_added)).toEqual(['new', 'extra']);
  });

  it('transitions: the largest first, then by from and to; reason codes the most frequent first, then by name', () => {
    const t = new Tally();
    t.add(change('deny', 'redact'));
    t.add(change('deny', 'allow'));
    for (let i = 0; i < 3; i++) t.add(change('allow', 'redact'));
    t.add(change('allow', 'deny', [], ['b']));
    t.add(change('allow', 'deny', [], ['b', 'a']));
    t.add(change('allow', 'deny', [], ['c', 'a']));
    t.add(change('allow', 'require_approval'));
    t.add(change('allow', 'deny', [], ['c', 'd']));
    const r = asJson(t);
    expect(r.transitions.map((x: { from: string; to: string; count: number }) => `${x.from}>${x.to}:${x.count}`)).toEqual([
      'allow>deny:4',
      'allow>redact:3',
      'allow>require_approval:1',
      'deny>allow:1',
      'deny>redact:1',
    ]);
    expect(Object.entries(r.transitions[0].reasons_added)).toEqual([
      ['a', 2],
      ['b', 2],
      ['c', 2],
      ['d', 1],
    ]);
  });

  it(`keeps the first ${EXAMPLES} decision ids of a transition as examples, oldest first`, () => {
    const t = new Tally();
    const ids = Array.from({ length: EXAMPLES + 3 }, () => {
      const c = change('allow', 'deny');
      t.add(c);
      return c.decisionId;
    });
    expect(t.report().transitions[0]!.examples).toEqual(ids.slice(0, EXAMPLES));
  });

  it('the matrix: every decision, changed or not; rows and columns in precedence order, unknown names last by name', () => {
    const t = new Tally();
    for (const [from, to] of [
      ['redact', 'zeta'],
      ['zeta', 'allow'],
      ['alpha', 'deny'],
      ['deny', 'redact'],
      ['deny', 'allow'],
      ['deny', 'deny'],
      ['allow', 'require_approval'],
      ['allow', 'allow'],
      ['require_approval', 'alpha'],
      ['require_approval', 'zeta'],
    ]) {
      t.add(change(from!, to!));
    }
    const { matrix } = asJson(t);
    expect(Object.keys(matrix)).toEqual(['allow', 'deny', 'require_approval', 'redact', 'alpha', 'zeta']);
    expect(Object.entries(matrix.deny)).toEqual([
      ['allow', 1],
      ['deny', 1],
      ['redact', 1],
    ]);
    expect(Object.keys(matrix.allow)).toEqual(['allow', 'require_approval']);
    expect(Object.keys(matrix.require_approval)).toEqual(['alpha', 'zeta']);
  });
});
