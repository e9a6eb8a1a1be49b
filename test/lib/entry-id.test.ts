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
