import { describe, expect, it } from 'vitest';
import { KeyLocks } from '../../src/engine/key-locks.js';

/** Locks on sets of usage keys: all-or-nothing, first come first served per key, disjoint sets in parallel. */
const tick = () => new Promise((r) => setImmediate(r));

describe('KeyLocks', () => {
  it('grants disjoint key sets at once and makes a sharing one wait until release', async () => {
    const locks = new KeyLocks();
    const a = await locks.acquire(['team:x', 'cc:1']);
    const b = await locks.acquire(['team:y', 'cc:2']);
    let cGranted = false;
    const c = locks.acquire(['team:z', 'cc:1']).then((release) => {
      cGranted = true;
      return release;
    });
    await tick();
    expect(cGranted).toBe(false);
    expect(locks.waiting).toBe(1);
    b();
    await tick();
    expect(cGranted).toBe(false);
    a();
    (await c)();
    expect(cGranted).toBe(true);
    expect(locks.size).toBe(0);
  });

  it('serves waiters on a key in arrival order; a later waiter never overtakes an earlier one that shares a key', async () => {
    const locks = new KeyLocks();
    const order: string[] = [];
    const first = await locks.acquire(['team']);
    const noting = (name: string) => (release: () => void) => {
      order.push(name);
      return release;
    };
    const wide = locks.acquire(['team', 'cc']).then(noting('wide'));
    // Needs only cc, which is free now, but the earlier waiter wants it: it waits its turn.
    const narrow = locks.acquire(['cc']).then(noting('narrow'));
    await tick();
    expect(order).toEqual([]);
    first();
    (await wide)();
    (await narrow)();
    expect(order).toEqual(['wide', 'narrow']);
  });

  it('a waiter whose keys nobody earlier wants is granted at once, even with others waiting', async () => {
    const locks = new KeyLocks();
    const held = await locks.acquire(['a']);
    const blocked = locks.acquire(['a']);
    const free = await locks.acquire(['b']);
    expect(locks.waiting).toBe(1);
    free();
    held();
    (await blocked)();
    expect(locks.size).toBe(0);
  });

  it('a key named twice is held once; releasing twice is harmless', async () => {
    const locks = new KeyLocks();
    const r = await locks.acquire(['k', 'k']);
    expect(locks.size).toBe(1);
    r();
    r();
    const again = await locks.acquire(['k']);
    expect(locks.size).toBe(1);
    again();
  });

  it('a release called twice lets go once: a key granted to another since stays held', async () => {
    const locks = new KeyLocks();
    const first = await locks.acquire(['team:x']);
    first();
    const second = await locks.acquire(['team:x']);
    first();
    expect(locks.size).toBe(1);
    let thirdGranted = false;
    const third = locks.acquire(['team:x']).then((release) => {
      thirdGranted = true;
      return release;
    });
    await tick();
    expect(thirdGranted).toBe(false);
    second();
    (await third)();
    expect(locks.size).toBe(0);
  });
  it('says whether asking for keys now would wait: one of them held, or wanted by a waiter', async () => {
    const locks = new KeyLocks();
    expect(locks.busy(['team'])).toBe(false);
    const first = await locks.acquire(['team']);
    expect(locks.busy(['team'])).toBe(true);
    expect(locks.busy(['cc', 'team'])).toBe(true);
    expect(locks.busy(['cc'])).toBe(false);
    const waiting = locks.acquire(['team', 'cc']);
    // cc is free, but the waiter wants it: asking for it now waits behind that waiter.
    expect(locks.busy(['cc'])).toBe(true);
    expect(locks.busy(['other'])).toBe(false);
    first();
    const second = await waiting;
    expect(locks.busy(['team'])).toBe(true);
    second();
    expect(locks.busy(['team', 'cc'])).toBe(false);
  });
});
