import { commitStaged, storeReservation, withoutEntry } from './helpers.js';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { usageConfig } from '../../src/usage/config.js';
import type { WindowSums } from '../../src/usage/buckets.js';
import { LiveReservations, type LiveReservation } from '../../src/usage/live-reservations.js';
import { EXPIRED_GRACE_MS, SqliteUsageStore } from '../../src/usage/sqlite.js';
import type { Reservation, Scope } from '../../src/usage/store.js';
import { WINDOW_NAMES, windowStarts, type WindowStarts } from '../../src/usage/windows.js';

/**
 * The store keeps live reservations and settled totals in memory; the table is
 * the truth. The oracle: a second store opened on the same database after each
 * step reads everything from SQLite, and must report exactly the same usage for
 * every key, at every instant, whatever sequence of reservations (committed or
 * given up), settlements, releases and clock moves came before.
 */

const T0 = Date.parse('2026-11-18T23:50:00Z'); // ten minutes before a local midnight in UTC
const SUBJECTS = ['alice', 'bob', 'carol'];
const TEAMS = ['platform', 'research'];
const CENTERS = ['cc-1', 'cc-2'];
const TIERS = ['standard', 'premium'];

type Step =
  | { kind: 'reserve'; subject: number; team: number; center: number; tier: number; tokens: number; micros: number; at: number; commit: boolean }
  | { kind: 'settle'; pick: number; tokens: number; micros: number }
  | { kind: 'release'; pick: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('reserve' as const),
    subject: fc.nat(SUBJECTS.length - 1),
    team: fc.nat(TEAMS.length - 1),
    center: fc.nat(CENTERS.length - 1),
    tier: fc.nat(TIERS.length - 1),
    tokens: fc.nat(5000),
    micros: fc.nat(2_000_000),
    // Up to 20 minutes around T0: across midnight, and across the 10-minute reservation TTL.
    at: fc.integer({ min: -20 * 60_000, max: 20 * 60_000 }),
    commit: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(), tokens: fc.nat(5000), micros: fc.nat(2_000_000) }),
  fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
);

const config = usageConfig({ reservationTtlSeconds: 600 });

function scopesRead(store: SqliteUsageStore, nowMs: number) {
  const reads: Array<[Scope, string]> = [
    ...SUBJECTS.map((k) => ['subject', k] as [Scope, string]),
    ...TEAMS.map((k) => ['team', k] as [Scope, string]),
    ...CENTERS.map((k) => ['cost_center', k] as [Scope, string]),
  ];
  return Promise.all(reads.map(([scope, key]) => store.usage(scope, key, nowMs)));
}

describe('usage kept in memory agrees with the table', () => {
  it('after any sequence of reservations, settlements and releases, at any instant', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: -25 * 60_000, max: 25 * 60_000 }), { maxLength: 4 }),
        async (steps, probes) => {
          const db = new Database(':memory:');
          const live = new SqliteUsageStore(db, config);
          const reserved: Reservation[] = [];
          for (const [i, s] of steps.entries()) {
            if (s.kind === 'reserve') {
              const r: Reservation = {
                decisionId: `d${i}`,
                subject: SUBJECTS[s.subject]!,
                team: TEAMS[s.team]!,
                costCenter: CENTERS[s.center]!,
                model: 'm',
                tier: TIERS[s.tier]!,
                tokens: s.tokens,
                costMicros: s.micros,
                atMs: T0 + s.at,
                expiresMs: T0 + s.at + 600_000,
                maxOutputTokens: null,
                estimatedInputTokens: 0,
                caller: 'gateway',
                askedModel: 'm',
              };
              const staged = live.stage({
                request: { decisionId: r.decisionId, subject: r.subject, tool: '', decision: 'allow', atMs: r.atMs },
                reservation: r,
              });
              // Read while staged: counted already (then the stage ends either way).
              await live.usage('subject', r.subject, r.atMs);
              if (s.commit) {
                db.transaction(() => commitStaged(db, staged))();
                reserved.push(r);
              } else {
                staged.finish(false, []);
              }
            } else if (reserved.length > 0) {
              const r = reserved[s.pick % reserved.length]!;
              if (s.kind === 'settle') {
                await live.settle({ ...r, inputTokens: s.tokens, outputTokens: 0, costMicros: s.micros, atMs: r.atMs }, withoutEntry(db));
              } else {
                await live.release(r.decisionId);
              }
            }
            const fresh = new SqliteUsageStore(db, config);
            for (const probe of [0, ...probes]) {
              expect(await scopesRead(live, T0 + probe)).toEqual(await scopesRead(fresh, T0 + probe));
            }
          }
          db.close();
        },
      ),
      { numRuns: 60 },
    );
  });
});

/**
 * The running sums against their definition: every reservation unexpired at
 * the instant, less the excluded one, summed per tier into each window whose
 * start it is not before (a tier appears while it holds one, even at zero).
 * Reads move forward in small steps (the kept sums are updated) and sometimes
 * back (they are rebuilt), across midnight and in and out of the rolling window.
 */
function reference(rs: Iterable<LiveReservation>, nowMs: number, starts: WindowStarts, excluding?: string): WindowSums[] {
  const byTier = new Map<string, WindowSums>();
  for (const r of rs) {
    if (r.expiresMs <= nowMs || r.decisionId === excluding) continue;
    let s = byTier.get(r.tier);
    if (!s) {
      s = { tier: r.tier, day_tokens: 0, day_cost: 0, week_tokens: 0, week_cost: 0, month_tokens: 0, month_cost: 0, rolling_tokens: 0, rolling_cost: 0 };
      byTier.set(r.tier, s);
    }
    for (const w of WINDOW_NAMES) {
      if (r.atMs < starts[w]) continue;
      s[`${w}_tokens`] += r.tokens;
      s[`${w}_cost`] += r.costMicros;
    }
  }
  return [...byTier.values()];
}

const byTierName = (sums: WindowSums[]) => [...sums].sort((a, b) => a.tier.localeCompare(b.tier));

type SumsStep =
  | { kind: 'add'; tier: number; tokens: number; micros: number; at: number; ttl: number }
  | { kind: 'remove'; pick: number }
  | { kind: 'read'; dt: number; exclude: number | null }
  /** A read at the instant one held reservation stops counting somewhere, or a millisecond before (`edge` picks which). */
  | { kind: 'edge'; pick: number; edge: number; exclude: number | null };

const sumsStep: fc.Arbitrary<SumsStep> = fc.oneof(
  fc.record({
    kind: fc.constant('add' as const),
    tier: fc.nat(TIERS.length - 1),
    tokens: fc.nat(5000),
    micros: fc.nat(2_000_000),
    at: fc.integer({ min: -8 * 60_000, max: 60_000 }),
    ttl: fc.integer({ min: 1, max: 15 * 60_000 }),
  }),
  fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant('read' as const),
    // Mostly forward (the kept sums move on), now and then back (they are rebuilt); across midnight within a run.
    dt: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 3 * 60_000 }), weight: 4 }, { arbitrary: fc.integer({ min: -3 * 60_000, max: 0 }), weight: 1 }),
    exclude: fc.option(fc.nat(), { nil: null }),
  }),
  fc.record({ kind: fc.constant('edge' as const), pick: fc.nat(), edge: fc.nat(3), exclude: fc.option(fc.nat(), { nil: null }) }),
);

describe('the running sums of one key', () => {
  it('equal the sum over its reservations at every read, forward or back in time', () => {
    const ROLLING_MINUTES = 5;
    fc.assert(
      fc.property(fc.array(sumsStep, { minLength: 1, maxLength: 80 }), (steps) => {
        const db = new Database(':memory:');
        new SqliteUsageStore(db, config);
        const live = new LiveReservations(db);
        const held = new Map<string, LiveReservation>();
        // Two minutes before a local midnight that starts a day, an ISO week and a month at once (Monday 1 June 2026).
        let now = Date.parse('2026-05-31T23:58:00Z');
        for (const [i, s] of steps.entries()) {
          if (s.kind === 'add') {
            const r: LiveReservation = {
              decisionId: `d${i}`,
              subject: 'alice',
              team: 'platform',
              costCenter: 'cc-1',
              tier: TIERS[s.tier]!,
              tokens: s.tokens,
              costMicros: s.micros,
              atMs: now + s.at,
              expiresMs: now + s.at + s.ttl,
            };
            live.add(r);
            held.set(r.decisionId, r);
          } else if (s.kind === 'remove') {
            const ids = [...held.keys()];
            if (ids.length === 0) continue;
            const id = ids[s.pick % ids.length]!;
            const r = held.get(id)!;
            live.remove(r);
            held.delete(id);
          } else {
            const ids = [...held.keys()];
            if (s.kind === 'read') now += s.dt;
            else if (ids.length > 0) {
              const r = held.get(ids[s.pick % ids.length]!)!;
              const leavesRolling = r.atMs + ROLLING_MINUTES * 60_000 + 1;
              now = [r.expiresMs, r.expiresMs - 1, leavesRolling, leavesRolling - 1][s.edge]!;
            }
            const excluding = s.exclude === null || ids.length === 0 ? undefined : ids[s.exclude % ids.length];
            const starts = windowStarts(new Date(now), 'UTC', ROLLING_MINUTES);
            for (const [scope, key] of [
              ['subject', 'alice'],
              ['cost_center', 'cc-1'],
            ] as const) {
              expect(byTierName(live.sums(scope, key, now, starts, excluding))).toEqual(byTierName(reference(held.values(), now, starts, excluding)));
            }
          }
        }
        db.close();
      }),
      { numRuns: 300 },
    );
  });

  it('reservations already in the table count from the first read, and more than 512 expired ones are let go', () => {
    const db = new Database(':memory:');
    const store = new SqliteUsageStore(db, config);
    const rows: LiveReservation[] = [];
    for (let i = 0; i < 600; i++) {
      const r: Reservation = {
        decisionId: `t${i}`,
        subject: 'alice',
        team: 'platform',
        costCenter: 'cc-1',
        model: 'm',
        tier: TIERS[i % 2]!,
        tokens: 10,
        costMicros: 1000,
        atMs: T0 + i,
        // The first 520 expire at T0 + 1000; the last 80 stay.
        expiresMs: i < 520 ? T0 + 1000 : T0 + 600_000,
        maxOutputTokens: null,
        estimatedInputTokens: 0,
        caller: 'gateway',
        askedModel: 'm',
      };
      const staged = store.stage({ request: { decisionId: r.decisionId, subject: r.subject, tool: '', decision: 'allow', atMs: r.atMs }, reservation: r });
      db.transaction(() => commitStaged(db, staged))();
      rows.push(r);
    }
    const live = new LiveReservations(db);
    const at = (ms: number) => byTierName(live.sums('team', 'platform', ms, windowStarts(new Date(ms), 'UTC', 60), undefined));
    expect(at(T0 + 900)).toEqual(byTierName(reference(rows, T0 + 900, windowStarts(new Date(T0 + 900), 'UTC', 60))));
    expect(at(T0 + 900).map((s) => s.day_tokens)).toEqual([3000, 3000]);
    // Forward past the expiry: 520 expired are held, more than 512, so they are dropped ...
    expect(at(T0 + 2000)).toEqual(byTierName(reference(rows, T0 + 2000, windowStarts(new Date(T0 + 2000), 'UTC', 60))));
    // ... and a read back before it no longer sees them: an expired reservation never counts again in a live store.
    expect(at(T0 + 900).reduce((n, s) => n + s.day_tokens, 0)).toBe(800);
    db.close();
  });
});

describe('reservations read at the start', () => {
  it('those that expired more than the grace before the start are left in the table; the rest are held', async () => {
    const db = new Database(':memory:');
    const first = new SqliteUsageStore(db, config);
    const start = T0 + 3_600_000;
    const expiring = { 'long-gone': start - EXPIRED_GRACE_MS - 1, 'in-grace': start - EXPIRED_GRACE_MS, live: start + 60_000 };
    for (const [id, expiresMs] of Object.entries(expiring)) {
      const r = storeReservation(id, T0, { subject: 'alice', team: 'platform', costCenter: 'cc-1' }, { tokens: 10, expiresMs });
      const staged = first.stage({ request: { decisionId: id, subject: r.subject, tool: '', decision: 'allow', atMs: T0 }, reservation: r });
      db.transaction(() => commitStaged(db, staged))();
    }
    // Read at T0 + 1 s, before any of them expired: what each store holds is all it can count.
    const reservedAt = async (store: SqliteUsageStore) => (await store.usage('team', 'platform', T0 + 1000)).day.reserved_tokens;
    expect(await reservedAt(new SqliteUsageStore(db, config, undefined, start))).toBe(20);
    expect(await reservedAt(new SqliteUsageStore(db, config))).toBe(30);
    expect(db.prepare("SELECT count(*) FROM usage_charges WHERE state = 'reserved'").pluck().get()).toBe(3);
    db.close();
  });
});

describe('reservations taken out', () => {
  it('leave no queued changes behind: a key that made 20,000 and settled them queues changes for the ones it holds', async () => {
    const db = new Database(':memory:');
    new SqliteUsageStore(db, config);
    const live = new LiveReservations(db);
    const held = new Map<string, LiveReservation>();
    const starts = (ms: number) => windowStarts(new Date(ms), 'UTC', 60);
    let now = T0;
    for (let i = 0; i < 20_000; i++) {
      now += 1;
      const r: LiveReservation = {
        decisionId: `d${i}`,
        subject: `s${i % 7}`,
        team: 'platform',
        costCenter: 'cc-1',
        tier: TIERS[i % 2]!,
        tokens: 3,
        costMicros: 700,
        atMs: now,
        expiresMs: now + 600_000,
      };
      live.add(r);
      held.set(r.decisionId, r);
      live.sums('team', 'platform', now, starts(now), undefined);
      // Every reservation but one in ten is settled a little later.
      const settled = held.get(`d${i - 5}`);
      if (settled && (i - 5) % 10 !== 0) {
        live.remove(settled);
        held.delete(settled.decisionId);
      }
    }
    expect(byTierName(live.sums('team', 'platform', now, starts(now), undefined))).toEqual(byTierName(reference(held.values(), now, starts(now))));
    expect(held.size).toBe(2005);
    // Two changes per held reservation at most (expiry, leaving the rolling window), plus what built up since the last compaction.
    expect(live.queued('team', 'platform')).toBeLessThanOrEqual(4 * held.size + 1024);
    expect(live.queued('team', 'platform')).toBeGreaterThanOrEqual(held.size);
    db.close();
  });
});
