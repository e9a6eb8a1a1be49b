import type { Database } from 'better-sqlite3';
import type { WindowSums } from './buckets.js';
import { scopesOf, usageKey, type Scope } from './store.js';
import type { WindowStarts } from './windows.js';
import { type HeldReservation, KeyReservations, type LiveReservation } from './key-reservations.js';

export type { LiveReservation } from './key-reservations.js';

/**
 * Unsettled reservations per scope key, kept in memory by the store that owns
 * the usage_charges table, with their sums per tier and window kept as they
 * change, so that a budget read costs the same however many reservations its
 * key holds. The reserved rows are read once, when the store starts (a range of
 * the partial index `usage_reserved`); from then on every change passes through
 * here (stage, a staged write given up, settle, release), so memory and table
 * agree, and a key held nowhere here has no reservation: nothing is read per key.
 * A reservation counts while it is unsettled and unexpired, in each window whose
 * start it is not before, exactly as the table's rows would be counted.
 *
 * One index instead of one per scope: a decision's reservation is inserted into
 * it at the end (expiries grow with time), where three indexes by subject, team
 * and cost center took a page each at a random place (bench/README, "Reserved
 * charges indexed once").
 */
export class LiveReservations {
  private readonly byKey = new Map<string, KeyReservations>();

  /**
   * `expiredBeforeMs`: reservations that expired before this instant are not read (a reservation a
   * caller never reported stays in the table, reserved, for good; a read at or after the store's start
   * never counts it). Undefined: every reserved row.
   */
  constructor(db: Database, expiredBeforeMs?: number) {
    const rows = db
      .prepare(`SELECT decision_id AS decisionId, subject, team, cost_center AS costCenter, tier, tokens, cost_micros AS costMicros,
        at_ms AS atMs, expires_ms AS expiresMs FROM usage_charges WHERE state = 'reserved' AND expires_ms >= ?`)
      .iterate(expiredBeforeMs ?? Number.MIN_SAFE_INTEGER) as IterableIterator<LiveReservation>;
    const loaded = new Map<string, HeldReservation[]>();
    for (const r of rows) {
      const held = heldOf(r);
      for (const [scope, key] of scopesOf(r)) {
        const k = usageKey(scope, key);
        const list = loaded.get(k);
        if (list) list.push(held);
        else loaded.set(k, [held]);
      }
    }
    for (const [k, list] of loaded) this.byKey.set(k, new KeyReservations(list));
  }

  /**
   * Holds `r` under its three keys as one small record of what a budget read needs; a decision's
   * reservation carries more (its model, caller, limits, names). Rate × TTL of them are held when
   * nothing reports (bench/retained.ts).
   */
  add(r: LiveReservation): void {
    const held = heldOf(r);
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
      // An empty key is forgotten: a key held nowhere here has no reservation.
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
      held = new KeyReservations([]);
      this.byKey.set(k, held);
    }
    return held;
  }
}

/** What a key holds of a reservation: one record, shared by its three keys. */
function heldOf(r: LiveReservation): HeldReservation {
  return { decisionId: r.decisionId, tier: r.tier, tokens: r.tokens, costMicros: r.costMicros, atMs: r.atMs, expiresMs: r.expiresMs };
}
