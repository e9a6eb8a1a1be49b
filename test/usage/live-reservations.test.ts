import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { usageConfig } from '../../src/usage/config.js';
import { SqliteUsageStore } from '../../src/usage/sqlite.js';
import type { Reservation, Scope } from '../../src/usage/store.js';

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
                db.transaction(() => staged.apply())();
                reserved.push(r);
              }
              staged.finish(s.commit);
            } else if (reserved.length > 0) {
              const r = reserved[s.pick % reserved.length]!;
              if (s.kind === 'settle') {
                await live.settle({ ...r, inputTokens: s.tokens, outputTokens: 0, costMicros: s.micros, atMs: r.atMs });
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
