import { expect, it } from 'vitest';
import { mergeByTime } from '../../src/ledger/merge.js';

/**
 * Entries of several replicas' ledgers as one list (`gavel audit query|timeline --ledger a --ledger b`,
 * the console): by time, then by the order the ledgers were named, then by seq; each item names its
 * ledger; `limit` keeps the newest (desc) or the oldest (asc). In this process, where StrykerJS sees it.
 */
const at = (s: number) => new Date(Date.UTC(2026, 11, 5, 10, 0, s)).toISOString();
const a = {
  from: { ledger: 'a.db', origin: 'origin-a' },
  items: [
    { time: at(1), seq: 1 },
    { time: at(3), seq: 2 },
    { time: at(3), seq: 3 },
  ],
};
const b = {
  from: { ledger: 'b.db', origin: 'origin-b' },
  items: [
    { time: at(2), seq: 1 },
    { time: at(3), seq: 2 },
  ],
};
const names = (xs: Array<{ ledger: string; seq: number }>) => xs.map((x) => `${x.ledger}#${x.seq}`);

it('orders by time, then by the order the ledgers were named, then by seq; each item names its ledger and origin', () => {
  expect(names(mergeByTime([a, b], 'asc'))).toEqual(['a.db#1', 'b.db#1', 'a.db#2', 'a.db#3', 'b.db#2']);
  // Named the other way round, a tie at the same instant goes the other way too.
  expect(names(mergeByTime([b, a], 'asc'))).toEqual(['a.db#1', 'b.db#1', 'b.db#2', 'a.db#2', 'a.db#3']);
  expect(names(mergeByTime([a, b], 'desc'))).toEqual(['a.db#3', 'a.db#2', 'b.db#2', 'b.db#1', 'a.db#1']);
  expect(mergeByTime([a, b], 'asc')[1]).toEqual({ time: at(2), seq: 1, ledger: 'b.db', origin: 'origin-b' });
});

it('the limit keeps the oldest ascending and the newest descending; without one, all', () => {
  expect(names(mergeByTime([a, b], 'asc', 2))).toEqual(['a.db#1', 'b.db#1']);
  expect(names(mergeByTime([a, b], 'desc', 2))).toEqual(['a.db#3', 'a.db#2']);
  expect(mergeByTime([a, b], 'desc', 0)).toEqual([]);
  expect(mergeByTime([a, b], 'asc')).toHaveLength(5);
  expect(mergeByTime([], 'asc', 3)).toEqual([]);
});

it('compares times as instants, not as text', () => {
  // The same instant written with an offset, and an earlier one that sorts later as text.
  const c = {
    from: { ledger: 'c.db', origin: 'c' },
    items: [
      { time: '2026-12-05T11:00:00.500+01:00', seq: 9 },
      { time: '2026-12-05T09:59:59Z', seq: 8 },
    ],
  };
  expect(names(mergeByTime([a, c], 'asc'))).toEqual(['c.db#8', 'c.db#9', 'a.db#1', 'a.db#2', 'a.db#3']);
});

it('sorts each ledger’s items however its query returned them: newest first in, the same order out', () => {
  // A descending query reads each ledger newest first; entries at the same instant still come by seq, down or up.
  const down = (s: typeof a) => ({ ...s, items: [...s.items].reverse() });
  expect(names(mergeByTime([down(a), down(b)], 'desc'))).toEqual(['a.db#3', 'a.db#2', 'b.db#2', 'b.db#1', 'a.db#1']);
  expect(names(mergeByTime([down(a), down(b)], 'asc'))).toEqual(['a.db#1', 'b.db#1', 'a.db#2', 'a.db#3', 'b.db#2']);
});

it('a tie between ledgers goes by the order they were named, wherever each one’s items start', () => {
  // Three ledgers, every item at one instant, each ledger's own items out of order.
  const same = (ledger: string, seqs: number[]) => ({ from: { ledger, origin: ledger }, items: seqs.map((seq) => ({ time: at(5), seq })) });
  const three = [same('z.db', [2, 1]), same('y.db', [1, 3, 2]), same('x.db', [1])];
  expect(names(mergeByTime(three, 'asc'))).toEqual(['z.db#1', 'z.db#2', 'y.db#1', 'y.db#2', 'y.db#3', 'x.db#1']);
  expect(names(mergeByTime(three, 'desc'))).toEqual(['z.db#2', 'z.db#1', 'y.db#3', 'y.db#2', 'y.db#1', 'x.db#1']);
});
