import type { Database, Statement } from 'better-sqlite3';
import { scopesOf, usageKey, type Reservation, type Scope } from './store.js';

/** What a budget read needs of a reservation. */
export type LiveReservation = Pick<Reservation, 'decisionId' | 'subject' | 'team' | 'costCenter' | 'tier' | 'tokens' | 'costMicros' | 'atMs' | 'expiresMs'>;

const SCOPE_COLUMN: Record<Scope, string> = { subject: 'subject', team: 'team', cost_center: 'cost_center' };

/** Past this many reservations on one key, a read drops the expired ones (they never count again). */
const PRUNE_AT = 512;

/**
 * Unsettled reservations per scope key, kept in memory by the store that owns
 * the usage_charges table, so that a budget read walks a key's live
 * reservations instead of querying them. A key's reservations are loaded from
 * SQLite the first time it is read or reserved against; from then on every
 * change passes through here (stage, a staged write given up, settle,
 * release), so memory and table agree: a reservation counts while it is
 * unsettled and unexpired, exactly as the table's rows would be counted.
 */
export class LiveReservations {
  private readonly byKey = new Map<string, Map<string, LiveReservation>>();
  private readonly loaders: Record<Scope, Statement>;

  constructor(db: Database) {
    const load = (scope: Scope) =>
      db.prepare(`SELECT decision_id AS decisionId, subject, team, cost_center AS costCenter, tier, tokens, cost_micros AS costMicros,
        at_ms AS atMs, expires_ms AS expiresMs FROM usage_charges WHERE ${SCOPE_COLUMN[scope]} = ? AND state = 'reserved'`);
    this.loaders = { subject: load('subject'), team: load('team'), cost_center: load('cost_center') };
  }

  add(r: LiveReservation): void {
    for (const [scope, key] of scopesOf(r)) this.of(scope, key).set(r.decisionId, r);
  }

  remove(r: Pick<LiveReservation, 'decisionId' | 'subject' | 'team' | 'costCenter'>): void {
    for (const [scope, key] of scopesOf(r)) {
      const k = usageKey(scope, key);
      const m = this.byKey.get(k);
      if (!m) continue;
      m.delete(r.decisionId);
      // An empty key is forgotten: reloading it reads the same (empty) rows.
      if (m.size === 0) this.byKey.delete(k);
    }
  }

  /** The reservations of one key that count at nowMs (unexpired). */
  live(scope: Scope, key: string, nowMs: number): LiveReservation[] {
    const m = this.of(scope, key);
    const out: LiveReservation[] = [];
    let expired = 0;
    for (const r of m.values()) {
      if (r.expiresMs > nowMs) out.push(r);
      else expired++;
    }
    if (expired > 0 && m.size > PRUNE_AT) for (const r of [...m.values()]) if (r.expiresMs <= nowMs) m.delete(r.decisionId);
    return out;
  }

  private of(scope: Scope, key: string): Map<string, LiveReservation> {
    const k = usageKey(scope, key);
    let m = this.byKey.get(k);
    if (!m) {
      m = new Map((this.loaders[scope].all(key) as LiveReservation[]).map((r) => [r.decisionId, r]));
      this.byKey.set(k, m);
    }
    return m;
  }
}
