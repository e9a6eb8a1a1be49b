import type { Database, Statement } from 'better-sqlite3';
import type { WindowSums } from './buckets.js';
import { scopesOf, usageKey, type Scope } from './store.js';
import type { WindowStarts } from './windows.js';
import { type HeldReservation, KeyReservations, type LiveReservation } from './key-reservations.js';

export type { LiveReservation } from './key-reservations.js';

const SCOPE_COLUMN: Record<Scope, string> = { subject: 'subject', team: 'team', cost_center: 'cost_center' };

/**
 * Unsettled reservations per scope key, kept in memory by the store that owns
 * the usage_charges table, with their sums per tier and window kept as they
 * change, so that a budget read costs the same however many reservations its
 * key holds. A key's reservations are loaded from SQLite the first time it is
 * read or reserved against; from then on every change passes through here
 * (stage, a staged write given up, settle, release), so memory and table agree:
 * a reservation counts while it is unsettled and unexpired, in each window
 * whose start it is not before, exactly as the table's rows would be counted.
 */
export class LiveReservations {
  private readonly byKey = new Map<string, KeyReservations>();
  private readonly loaders: Record<Scope, Statement>;

  constructor(db: Database) {
    const load = (scope: Scope) =>
      db.prepare(`SELECT decision_id AS decisionId, tier, tokens, cost_micros AS costMicros, at_ms AS atMs, expires_ms AS expiresMs
        FROM usage_charges WHERE ${SCOPE_COLUMN[scope]} = ? AND state = 'reserved'`);
    this.loaders = { subject: load('subject'), team: load('team'), cost_center: load('cost_center') };
  }

  /**
   * Holds `r` under its three keys as one small record of what a budget read needs; a decision's
   * reservation carries more (its model, caller, limits, names). Rate × TTL of them are held when
   * nothing reports (bench/retained.ts).
   */
  add(r: LiveReservation): void {
    const held: HeldReservation = { decisionId: r.decisionId, tier: r.tier, tokens: r.tokens, costMicros: r.costMicros, atMs: r.atMs, expiresMs: r.expiresMs };
    for (const [scope, key] of scopesOf(r)) this.of(scope, key).add(held);
  }

  /** Changes one key still has queued (each reservation queues one or two; taken out ones stay until compacted). */
  queued(scope: Scope, key: string): number {
    return this.byKey.get(usageKey(scope, key))?.queued ?? 0;
  }

  remove(r: Pick<LiveReservation, 'decisionId' | 'subject' | 'team' | 'costCenter'>): void {
    for (const [scope, key] of scopesOf(r)) {
      const k = usageKey(scope, key);
      const held = this.byKey.get(k);
      if (!held) continue;
      held.remove(r.decisionId);
      // An empty key is forgotten: reloading it reads the same (empty) rows.
      if (held.size === 0) this.byKey.delete(k);
    }
  }

  /**
   * One key's reservations that count at nowMs, summed per tier and window (exact micros), less
   * `excluding` (a retry's own reservation). Cheap when reads of a key come in time order, as the
   * engine's do (a decision takes its time once it holds the key); a read of an earlier instant rebuilds.
   */
  sums(scope: Scope, key: string, nowMs: number, starts: WindowStarts, excluding?: string): WindowSums[] {
    return this.of(scope, key).sums(nowMs, starts, excluding);
  }

  private of(scope: Scope, key: string): KeyReservations {
    const k = usageKey(scope, key);
    let held = this.byKey.get(k);
    if (!held) {
      held = new KeyReservations(this.loaders[scope].all(key) as HeldReservation[]);
      this.byKey.set(k, held);
    }
    return held;
  }
}
