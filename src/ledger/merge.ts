/** Where a merged entry came from: the ledger file and its origin (each replica's ledger has its own id and key). */
export interface FromLedger {
  ledger: string;
  origin: string;
}

/**
 * Entries (or timeline events) of several replicas' ledgers as one list,
 * ordered by time, then by the order the ledgers were named, then by seq, so
 * the merge is deterministic; each item names the ledger it came from. At most
 * `limit` items when given (the newest for `desc`, the oldest for `asc`).
 */
export function mergeByTime<T extends { time: string; seq: number }>(
  sources: ReadonlyArray<{ from: FromLedger; items: readonly T[] }>,
  order: 'asc' | 'desc',
  limit?: number,
): Array<T & FromLedger> {
  const tagged = sources.flatMap((s, index) => s.items.map((item) => ({ item, index, ms: Date.parse(item.time) })));
  const sign = order === 'asc' ? 1 : -1;
  tagged.sort((a, b) => sign * (a.ms - b.ms) || a.index - b.index || sign * (a.item.seq - b.item.seq));
  const kept = limit === undefined ? tagged : tagged.slice(0, limit);
  return kept.map(({ item, index }) => ({ ...item, ...sources[index]!.from }));
}
