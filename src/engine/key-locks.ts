interface Waiter {
  keys: readonly string[];
  grant: () => void;
}

/**
 * Exclusive locks on sets of keys, granted all at once and first come, first
 * served per key. A decision takes its usage keys (budget scopes, history)
 * before it reads usage and lets go once its writes are staged, so decisions
 * that share a key are evaluated one after the other on fresh totals, while
 * decisions on different keys run in parallel on every core.
 *
 * Deadlock-free because each holder asks for all of its keys in one call; fair
 * because a waiter's keys are held back from every later waiter, so a decision
 * that needs {team, cost center} is not overtaken forever by decisions that
 * need only one of them.
 */
export class KeyLocks {
  private readonly held = new Set<string>();
  private waiters: Waiter[] = [];

  /** Resolves with the release function once every key is held by this caller. */
  acquire(keys: readonly string[]): Promise<() => void> {
    const unique = [...new Set(keys)];
    return new Promise((resolve) => {
      const grant = () => {
        for (const k of unique) this.held.add(k);
        resolve(this.releaser(unique));
      };
      if (this.waiters.length === 0 && unique.every((k) => !this.held.has(k))) grant();
      else {
        this.waiters.push({ keys: unique, grant });
        this.wake();
      }
    });
  }

  /** Keys held now (for tests and metrics). */
  get size(): number {
    return this.held.size;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Whether asking for these keys now would wait: one of them is held, or wanted by a waiter. */
  busy(keys: readonly string[]): boolean {
    if (keys.some((k) => this.held.has(k))) return true;
    return this.waiters.some((w) => w.keys.some((k) => keys.includes(k)));
  }

  private releaser(keys: readonly string[]): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const k of keys) this.held.delete(k);
      this.wake();
    };
  }

  /** Grants, in arrival order, every waiter whose keys are free and not wanted by an earlier waiter. */
  private wake(): void {
    const claimed = new Set<string>();
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      // grant() marks the keys held at once, so later waiters in this pass see them taken.
      if (w.keys.every((k) => !this.held.has(k) && !claimed.has(k))) w.grant();
      else still.push(w);
      for (const k of w.keys) claimed.add(k);
    }
    this.waiters = still;
  }
}
