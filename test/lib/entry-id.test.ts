import { describe, expect, it } from 'vitest';
import { newEntryId } from '../../src/lib/entry-id.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const msOf = (id: string) => Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);

describe('entry ids', () => {
  it('are UUID version 7 carrying the time they were made', () => {
    const before = Date.now();
    const id = newEntryId();
    const after = Date.now();
    expect(id).toMatch(V7);
    expect(msOf(id)).toBeGreaterThanOrEqual(before);
    expect(msOf(id)).toBeLessThanOrEqual(after);
  });

  it('sort in the order they were made, within one millisecond too, and never repeat', () => {
    const ids = Array.from({ length: 5000 }, () => newEntryId());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('entry ids, their random part', () => {
  it('ids of one millisecond share its time and count up; the 62 bits after the counter differ', () => {
    // Ids over at least six milliseconds: a few hundred in each.
    const ids: string[] = [];
    const start = Date.now();
    while (Date.now() - start < 6 || ids.length < 2000) ids.push(newEntryId());
    const sameMs = ids.filter((id) => msOf(id) === msOf(ids[0]!));
    expect(sameMs.length).toBeGreaterThan(1);
    const counter = (id: string) => Number.parseInt(id.replaceAll('-', '').slice(13, 16), 16);
    // The counter's top 12 bits: one up per id, or the same when only its lower bits moved.
    for (let i = 1; i < sameMs.length; i++) expect(counter(sameMs[i]!) - counter(sameMs[i - 1]!)).toBeGreaterThanOrEqual(0);
    const tails = new Set(ids.map((id) => id.slice(-12)));
    expect(tails.size).toBe(ids.length);
    // A new millisecond starts its counter at random, not where the last one stopped or at zero.
    const starts = new Set(ids.filter((id, i) => i === 0 || msOf(id) !== msOf(ids[i - 1]!)).map((id) => id.slice(14, 18)));
    expect(starts.size).toBeGreaterThan(3);
  });
});
