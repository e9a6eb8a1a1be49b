import { type EntrySummary, type LedgerView, pageCursor, type QueryFilter } from '../../runtime/faces.js';
import type { Cursors } from './filters.js';

export interface PagedEntry {
  entry: EntrySummary;
  /** Index of the ledger it comes from. */
  ledger: number;
}

export interface Page {
  rows: PagedEntry[];
  /** The cursor of the next page; undefined on the last. */
  next: Cursors | undefined;
}

/**
 * One page of entries, newest first, across one or several ledgers (replicas), by keyset: each ledger
 * is read from where its part of the last page ended, and the lists are merged head by head (newest
 * time first, then the ledger named first), so each ledger's part of a page is a prefix of its own
 * order and no entry is skipped or repeated while entries are appended.
 */
export function pageAcross(ledgers: readonly LedgerView[], filter: QueryFilter, cursors: Cursors, limit: number): Page {
  const lists = ledgers.map((view, i) => {
    const at = cursors.get(i);
    if (at === 'end') return [];
    return [...view.query({ ...filter, limit: limit + 1, order: 'desc', ...(at ? { cursor: at } : {}) })];
  });
  const heads = lists.map(() => 0);
  const rows: PagedEntry[] = [];
  while (rows.length < limit) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      const candidate = lists[i]![heads[i]!];
      if (!candidate) continue;
      if (best < 0 || Date.parse(candidate.time) > Date.parse(lists[best]![heads[best]!]!.time)) best = i;
    }
    if (best < 0) break;
    rows.push({ entry: lists[best]![heads[best]!]!, ledger: best });
    heads[best]! += 1;
  }
  const next: Cursors = new Map(cursors);
  let more = false;
  for (let i = 0; i < lists.length; i++) {
    const taken = heads[i]!;
    if (taken > 0) next.set(i, pageCursor(lists[i]![taken - 1]!));
    if (taken < lists[i]!.length) more = true;
    else if (cursors.get(i) !== 'end') next.set(i, 'end');
  }
  return { rows, next: more ? next : undefined };
}
