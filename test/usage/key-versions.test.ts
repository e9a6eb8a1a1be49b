import { describe, expect, it } from 'vitest';
import { KeyVersions } from '../../src/usage/versions.js';

/** Optimistic concurrency on usage keys: a snapshot is current until one of its keys moves, or the table is reset. */

describe('KeyVersions', () => {
  it('a snapshot of keys never seen is current', () => {
    const v = new KeyVersions();
    expect(v.isCurrent(v.snapshot(['a', 'b']))).toBe(true);
    expect(v.isCurrent(v.snapshot([]))).toBe(true);
  });

  it('a bump of a key in the snapshot makes it stale; of another key, not', () => {
    const v = new KeyVersions();
    const snap = v.snapshot(['a', 'b']);
    v.bump(['c']);
    expect(v.isCurrent(snap)).toBe(true);
    v.bump(['b']);
    expect(v.isCurrent(snap)).toBe(false);
    expect(v.isCurrent(v.snapshot(['a', 'b']))).toBe(true);
  });

  it('every bump moves the version, the first one and the later ones', () => {
    const v = new KeyVersions();
    v.bump(['a']);
    const once = v.snapshot(['a']);
    expect(v.isCurrent(once)).toBe(true);
    v.bump(['a']);
    expect(v.isCurrent(once)).toBe(false);
    const twice = v.snapshot(['a']);
    v.bump(['a', 'a']);
    expect(v.isCurrent(twice)).toBe(false);
  });

  it('snapshots record versions: a snapshot taken before a bump differs from one taken after', () => {
    const v = new KeyVersions();
    const before = v.snapshot(['k']);
    v.bump(['k']);
    const after = v.snapshot(['k']);
    expect([...before.versions.values()]).not.toEqual([...after.versions.values()]);
    expect(v.isCurrent(after)).toBe(true);
  });

  it('past 200,000 keys the table is reset and every older snapshot reads stale, even of keys never bumped', () => {
    const v = new KeyVersions();
    const untouched = v.snapshot(['never-bumped']);
    const many = Array.from({ length: 200_000 }, (_, i) => `k${i}`);
    v.bump(many);
    // 200,000 keys is not past the limit: the next bump keeps the table.
    v.bump(['one-more']);
    expect(v.isCurrent(untouched)).toBe(true);
    const beforeReset = v.snapshot(['never-bumped', 'k1']);
    // Now 200,001 keys: the next bump resets.
    v.bump(['trigger']);
    expect(v.isCurrent(untouched)).toBe(false);
    expect(v.isCurrent(beforeReset)).toBe(false);
    // After the reset, fresh snapshots are current, and the keys start again from nothing.
    const fresh = v.snapshot(['never-bumped', 'k1', 'trigger']);
    expect(v.isCurrent(fresh)).toBe(true);
    v.bump(['k1']);
    expect(v.isCurrent(fresh)).toBe(false);
  });
});
