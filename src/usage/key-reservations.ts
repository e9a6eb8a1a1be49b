import TinyQueue from 'tinyqueue';
import type { WindowSums } from './buckets.js';
import type { Reservation } from './store.js';
import { WINDOW_NAMES, type WindowName, type WindowStarts } from './windows.js';

/** A reservation and the keys it is held under. */
export type LiveReservation = HeldReservation & Pick<Reservation, 'subject' | 'team' | 'costCenter'>;

/** What a budget read needs of a reservation: all one key holds of it. */
export type HeldReservation = Pick<Reservation, 'decisionId' | 'tier' | 'tokens' | 'costMicros' | 'atMs' | 'expiresMs'>;

/**
 * A reservation as the sums hold it: unexpired at the last read or not, and the windows it is counted
 * in. One per reservation and key, held until the reservation is settled, released or pruned (up to
 * its TTL: rate × TTL of them when nothing reports), so it stays small: the windows are bits.
 */
interface Counted {
  r: HeldReservation;
  /** Counted in the sums (unexpired at the last read). */
  live: boolean;
  /** Held expired: counted in KeyReservations.expired. */
  expired: boolean;
  /** The windows it is counted in, WINDOW_BIT of each (set by each count; read only while live). */
  windows: number;
}

const WINDOW_BIT: Record<WindowName, number> = { day: 1, week: 2, month: 4, rolling: 8 };

function counts(entry: Counted, w: WindowName): boolean {
  return (entry.windows & WINDOW_BIT[w]) !== 0;
}

/** Past this many expired reservations on one key, they are dropped (a read at an instant before they expired no longer sees them). */
const PRUNE_AT = 512;

/**
 * A settled or released reservation leaves its queued changes behind until their time (up to the
 * reservation TTL, or an approval's expiry): past 4 per reservation held plus this many, the queue is
 * rebuilt from what is held, so memory follows the reservations held, not those made lately.
 */
const COMPACT_SLACK = 1024;

/**
 * One key's reservations and their sums. The sums are built for one instant's
 * calendar window starts and rolling length, then kept as time moves on: a
 * reservation is added or taken out in O(log n), and one that expires or leaves
 * the rolling window is taken out when a read passes that time (a queue
 * ordered by it). New calendar starts (midnight), or a read at an instant
 * before the previous one, rebuild them from the reservations, expired ones
 * included (at most PRUNE_AT of those are kept).
 */
export class KeyReservations {
  private readonly all = new Map<string, Counted>();
  /** Unexpired reservations per tier: a tier is in the sums while it holds one, even if it counts in no window. */
  private readonly perTier = new Map<string, number>();
  private byTier = new Map<string, WindowSums>();
  /** Counted reservations in the order they stop counting everywhere: their expiry. */
  private expiries = expiryQueue();
  /** Counted reservations in the order they leave the rolling window: their time (the window's length is the build's). */
  private leaving = leavingQueue();
  private built: { day: number; week: number; month: number; rollingMs: number } | undefined;
  private lastMs = Number.NEGATIVE_INFINITY;
  private expired = 0;

  constructor(loaded: HeldReservation[]) {
    for (const r of loaded) this.all.set(r.decisionId, { r, live: false, expired: false, windows: 0 });
  }

  get size(): number {
    return this.all.size;
  }

  get queued(): number {
    return this.expiries.length + this.leaving.length;
  }

  add(r: HeldReservation): void {
    this.remove(r.decisionId);
    const entry: Counted = { r, live: false, expired: false, windows: 0 };
    this.all.set(r.decisionId, entry);
    if (this.built) this.count(entry);
  }

  remove(decisionId: string): void {
    const entry = this.all.get(decisionId);
    if (!entry) return;
    this.uncount(entry);
    this.all.delete(decisionId);
    if (entry.expired) this.expired--;
    if (this.built && this.queued > 4 * this.all.size + COMPACT_SLACK) this.rebuild(this.lastMs, this.built);
  }

  sums(nowMs: number, starts: WindowStarts, excluding: string | undefined): WindowSums[] {
    const rollingMs = nowMs - starts.rolling;
    const b = this.built;
    const same = b && b.day === starts.day && b.week === starts.week && b.month === starts.month && b.rollingMs === rollingMs;
    if (same && nowMs >= this.lastMs) this.pass(nowMs);
    else this.rebuild(nowMs, { day: starts.day, week: starts.week, month: starts.month, rollingMs });
    const own = excluding === undefined ? undefined : this.all.get(excluding);
    const out: WindowSums[] = [];
    for (const [tier, sums] of this.byTier) {
      if (!own?.live || tier !== own.r.tier) {
        out.push({ ...sums });
        continue;
      }
      // Without its own reservation: a tier that holds nothing else is not there at all.
      if (this.perTier.get(tier)! === 1) continue;
      const s = { ...sums };
      for (const w of WINDOW_NAMES) {
        if (!counts(own, w)) continue;
        s[`${w}_tokens`] -= own.r.tokens;
        s[`${w}_cost`] -= own.r.costMicros;
      }
      out.push(s);
    }
    return out;
  }

  /** Takes out what stopped counting by atMs. */
  private pass(atMs: number): void {
    this.lastMs = atMs;
    // An entry not live was taken out since it was queued (removed, replaced, expired). The two kinds of change
    // only take out, each once, so which of an entry's two comes first does not change the sums.
    for (let entry = this.expiries.peek(); entry && entry.r.expiresMs <= atMs; entry = this.expiries.peek()) {
      this.expiries.pop();
      if (entry.live) this.expire(entry);
    }
    const { rollingMs } = this.built!;
    for (let entry = this.leaving.peek(); entry && leavesRolling(entry, rollingMs) <= atMs; entry = this.leaving.peek()) {
      this.leaving.pop();
      // Queued only when counted in the rolling window, which nothing else takes it out of.
      if (entry.live) this.subtract(entry, 'rolling');
    }
    if (this.expired > PRUNE_AT) this.prune();
  }

  private rebuild(atMs: number, built: NonNullable<KeyReservations['built']>): void {
    this.built = built;
    this.lastMs = atMs;
    this.byTier = new Map();
    this.perTier.clear();
    this.expiries = expiryQueue();
    this.leaving = leavingQueue();
    this.expired = 0;
    for (const entry of this.all.values()) {
      entry.live = false;
      entry.expired = false;
      this.count(entry);
    }
    if (this.expired > PRUNE_AT) this.prune();
  }

  /** Counts a reservation unexpired at the last read in every window it belongs to, and queues when it stops counting. */
  private count(entry: Counted): void {
    const b = this.built!;
    const { r } = entry;
    if (r.expiresMs <= this.lastMs) {
      entry.expired = true;
      this.expired++;
      return;
    }
    entry.live = true;
    this.perTier.set(r.tier, (this.perTier.get(r.tier) ?? 0) + 1);
    const leaves = leavesRolling(entry, b.rollingMs);
    const inRolling = leaves > this.lastMs;
    entry.windows =
      (r.atMs >= b.day ? WINDOW_BIT.day : 0) |
      (r.atMs >= b.week ? WINDOW_BIT.week : 0) |
      (r.atMs >= b.month ? WINDOW_BIT.month : 0) |
      (inRolling ? WINDOW_BIT.rolling : 0);
    // Its tier is in the sums even when it counts in no window (as a sum over the reservations would have it).
    const s = this.row(r.tier);
    for (const w of WINDOW_NAMES) {
      if (!counts(entry, w)) continue;
      s[`${w}_tokens`] += r.tokens;
      s[`${w}_cost`] += r.costMicros;
    }
    this.expiries.push(entry);
    if (inRolling && leaves < r.expiresMs) this.leaving.push(entry);
  }

  /** Takes a reservation out of the sums; it stays held (expired) until removed or pruned. */
  private expire(entry: Counted): void {
    this.uncount(entry);
    entry.expired = true;
    this.expired++;
  }

  private uncount(entry: Counted): void {
    if (!entry.live) return;
    for (const w of WINDOW_NAMES) if (counts(entry, w)) this.subtract(entry, w);
    entry.live = false;
    const { tier } = entry.r;
    const left = this.perTier.get(tier)! - 1;
    if (left > 0) {
      this.perTier.set(tier, left);
    } else {
      this.perTier.delete(tier);
      this.byTier.delete(tier);
    }
  }

  private prune(): void {
    for (const [id, entry] of this.all) if (entry.expired) this.all.delete(id);
    this.expired = 0;
  }

  private row(tier: string): WindowSums {
    let s = this.byTier.get(tier);
    if (!s) {
      s = { tier, day_tokens: 0, day_cost: 0, week_tokens: 0, week_cost: 0, month_tokens: 0, month_cost: 0, rolling_tokens: 0, rolling_cost: 0 };
      this.byTier.set(tier, s);
    }
    return s;
  }

  private subtract(entry: Counted, w: WindowName): void {
    const { r } = entry;
    const s = this.byTier.get(r.tier)!;
    s[`${w}_tokens`] -= r.tokens;
    s[`${w}_cost`] -= r.costMicros;
    entry.windows &= ~WINDOW_BIT[w];
  }
}

/** In the rolling window while now <= atMs + rollingMs (its start, now - rollingMs, is not after atMs). */
function leavesRolling(entry: Counted, rollingMs: number): number {
  return entry.r.atMs + rollingMs + 1;
}

function expiryQueue(): TinyQueue<Counted> {
  return new TinyQueue<Counted>([], (a, b) => a.r.expiresMs - b.r.expiresMs);
}

function leavingQueue(): TinyQueue<Counted> {
  return new TinyQueue<Counted>([], (a, b) => a.r.atMs - b.r.atMs);
}
