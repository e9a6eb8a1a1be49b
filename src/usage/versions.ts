/** The versions of some usage keys at one moment. */
export interface KeySnapshot {
  readonly versions: ReadonlyMap<string, number>;
}

/** Past this many keys the table is reset; the epoch moves, so every older snapshot reads as stale (safe, never wrong). */
const MAX_KEYS = 200_000;
const EPOCH = '\u0000epoch';

/**
 * In-process versions of usage keys for optimistic concurrency: a decision
 * records the versions it read; its writes are staged only if none moved. One
 * process owns a ledger file (the writer lock), so in-memory versions are
 * complete; a key never seen has version 0.
 */
export class KeyVersions {
  private readonly versions = new Map<string, number>();
  private epoch = 0;

  snapshot(keys: string[]): KeySnapshot {
    const versions = new Map<string, number>([[EPOCH, this.epoch]]);
    for (const k of keys) versions.set(k, this.versions.get(k) ?? 0);
    return { versions };
  }

  isCurrent(snapshot: KeySnapshot): boolean {
    for (const [k, v] of snapshot.versions) {
      const now = k === EPOCH ? this.epoch : (this.versions.get(k) ?? 0);
      if (now !== v) return false;
    }
    return true;
  }

  bump(keys: string[]): void {
    if (this.versions.size > MAX_KEYS) {
      this.versions.clear();
      this.epoch++;
    }
    for (const k of keys) this.versions.set(k, (this.versions.get(k) ?? 0) + 1);
  }
}
