import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { KeyReservations, type LiveReservation } from '../../src/usage/key-reservations.js';
import { LiveReservations } from '../../src/usage/live-reservations.js';
import { usageConfig } from '../../src/usage/config.js';
import { SqliteUsageStore } from '../../src/usage/sqlite.js';
import { windowStarts } from '../../src/usage/windows.js';

/**
 * One key's live reservations at the edges the property test (live-reservations.test.ts) rarely
 * draws: a reservation made at the very start of a week or month, a read across midnight, a
 * reservation taken out before its rolling window moved on, one removed after it expired, one added
 * already expired beside a live one of its tier, and keys never read or already forgotten.
 */
const at = (iso: string) => Date.parse(iso);
const starts = (nowMs: number) => windowStarts(new Date(nowMs), 'UTC', 60);

function reservation(id: string, atMs: number, over: Partial<LiveReservation> = {}): LiveReservation {
  return {
    decisionId: id,
    subject: 's',
    team: 't',
    costCenter: 'c',
    tier: 'standard',
    tokens: 100,
    costMicros: 1_000,
    atMs,
    expiresMs: atMs + 3_600_000,
    ...over,
  };
}

/** Tokens per window of the one tier, or none when the tier is absent. */
function tokens(k: KeyReservations, nowMs: number, excluding?: string) {
  const row = k.sums(nowMs, starts(nowMs), excluding).find((s) => s.tier === 'standard');
  return row && { day: row.day_tokens, week: row.week_tokens, month: row.month_tokens, rolling: row.rolling_tokens };
}

describe('a key’s live reservations', () => {
  it('count one made at the very first millisecond of a week and of a month in that week and month', () => {
    // Monday 2026-06-01 00:00 UTC starts both a week and a month.
    const start = at('2026-06-01T00:00:00.000Z');
    const k = new KeyReservations([reservation('edge', start)]);
    expect(tokens(k, start + 60_000)).toEqual({ day: 100, week: 100, month: 100, rolling: 100 });
  });

  it('are counted again from the new calendar starts after midnight, not carried over', () => {
    const k = new KeyReservations([reservation('late', at('2026-06-03T23:50:00Z'))]);
    expect(tokens(k, at('2026-06-03T23:55:00Z'))).toEqual({ day: 100, week: 100, month: 100, rolling: 100 });
    // Past midnight: yesterday's reservation is not in today's day, still in the week, month and rolling hour.
    expect(tokens(k, at('2026-06-04T00:05:00Z'))).toEqual({ day: 0, week: 100, month: 100, rolling: 100 });
  });

  it('a reservation taken out before it would have left the rolling window leaves the others’ rolling sums alone', () => {
    const t0 = at('2026-06-03T10:00:00Z');
    const k = new KeyReservations([]);
    expect(tokens(k, t0)).toBeUndefined();
    k.add(reservation('first', t0, { tokens: 100 }));
    k.add(reservation('second', t0 + 30 * 60_000, { tokens: 70, expiresMs: t0 + 4 * 3_600_000 }));
    expect(tokens(k, t0 + 31 * 60_000)).toMatchObject({ rolling: 170 });
    k.remove('first'); // settled: out of the sums now
    // Past the time the first would have left the rolling hour: only the second is there, once.
    expect(tokens(k, t0 + 61 * 60_000)).toEqual({ day: 70, week: 70, month: 70, rolling: 70 });
  });

  it('a reservation removed after it expired takes nothing off the sums a second time', () => {
    const t0 = at('2026-06-03T10:00:00Z');
    const k = new KeyReservations([reservation('short', t0, { expiresMs: t0 + 60_000 }), reservation('long', t0, { tokens: 40 })]);
    expect(tokens(k, t0 + 1000)).toMatchObject({ day: 140 });
    expect(tokens(k, t0 + 120_000)).toMatchObject({ day: 40 }); // the short one expired
    k.remove('short');
    expect(tokens(k, t0 + 121_000)).toEqual({ day: 40, week: 40, month: 40, rolling: 40 });
    expect(k.size).toBe(1);
  });

  it('one added already expired, then removed, leaves a live one of its tier counted', () => {
    const t0 = at('2026-06-03T10:00:00Z');
    const k = new KeyReservations([reservation('live', t0)]);
    expect(tokens(k, t0 + 1000)).toMatchObject({ day: 100 });
    k.add(reservation('stale', t0 - 7_200_000, { expiresMs: t0 - 3_600_000 }));
    k.remove('stale');
    expect(tokens(k, t0 + 2000)).toEqual({ day: 100, week: 100, month: 100, rolling: 100 });
  });

  it('queue one change when they expire before leaving the rolling window, two when they leave it first', () => {
    const t0 = at('2026-06-03T10:00:00Z');
    const k = new KeyReservations([]);
    tokens(k, t0); // built: changes are queued from now on
    k.add(reservation('short', t0, { expiresMs: t0 + 10 * 60_000 }));
    expect(k.queued).toBe(1);
    k.add(reservation('long', t0, { expiresMs: t0 + 2 * 3_600_000 }));
    expect(k.queued).toBe(3);
    // Past the rolling hour, before the long one's expiry: it left the rolling sums alone.
    expect(tokens(k, t0 + 61 * 60_000)).toEqual({ day: 100, week: 100, month: 100, rolling: 0 });
    expect(k.queued).toBe(1);
  });

  it('keep expired ones for a read at an earlier instant: settled ones whose expiry passed are not among the 512 it keeps', () => {
    const t0 = at('2026-06-03T10:00:00Z');
    const k = new KeyReservations([]);
    tokens(k, t0);
    for (let i = 0; i < 600; i++) k.add(reservation(`settled-${i}`, t0, { expiresMs: t0 + 60_000 }));
    for (let i = 0; i < 600; i++) k.remove(`settled-${i}`);
    for (let i = 0; i < 5; i++) k.add(reservation(`unreported-${i}`, t0, { tokens: 10, expiresMs: t0 + 60_000 }));
    expect(tokens(k, t0 + 120_000)).toBeUndefined(); // all five expired
    expect(k.size).toBe(5);
    // A read back before their expiry (a clock stepped back) counts the five again.
    expect(tokens(k, t0 + 30_000)).toEqual({ day: 50, week: 50, month: 50, rolling: 50 });
  });

  it('leave the rolling window in the order they were made, however they were added', () => {
    const t0 = at('2026-06-03T10:00:00Z');
    const k = new KeyReservations([]);
    tokens(k, t0);
    for (const [id, minutes] of [
      ['third', 20],
      ['first', 0],
      ['second', 10],
    ] as const) {
      k.add(reservation(id, t0 + minutes * 60_000, { expiresMs: t0 + 2 * 3_600_000 }));
    }
    expect(tokens(k, t0 + 61 * 60_000)).toMatchObject({ day: 300, rolling: 200 });
    expect(tokens(k, t0 + 71 * 60_000)).toMatchObject({ day: 300, rolling: 100 });
    expect(tokens(k, t0 + 81 * 60_000)).toMatchObject({ day: 300, rolling: 0 });
  });

  it('a reservation added after the sums were built is held until it expires, whatever the prune of expired ones lets go', () => {
    const t0 = at('2026-06-03T10:00:00Z');
    const k = new KeyReservations([]);
    tokens(k, t0);
    k.add(reservation('keeper', t0, { expiresMs: t0 + 2 * 3_600_000 }));
    for (let i = 0; i < 520; i++) k.add(reservation(`short-${i}`, t0, { tokens: 1, expiresMs: t0 + 60_000 }));
    // 520 expired: more than the 512 kept, so they are let go; the keeper stays.
    expect(tokens(k, t0 + 120_000)).toEqual({ day: 100, week: 100, month: 100, rolling: 100 });
    expect(k.size).toBe(1);
    // A read at an earlier instant rebuilds from what is held: the keeper alone.
    expect(tokens(k, t0 + 30_000)).toEqual({ day: 100, week: 100, month: 100, rolling: 100 });
  });

  it('without its own reservation when asked (a retry), and with it otherwise', () => {
    const t0 = at('2026-06-03T10:00:00Z');
    const k = new KeyReservations([reservation('mine', t0), reservation('other', t0, { tokens: 30 })]);
    expect(tokens(k, t0 + 1000, 'mine')).toMatchObject({ day: 30 });
    expect(tokens(k, t0 + 1000)).toMatchObject({ day: 130 });
    expect(tokens(k, t0 + 1000, 'nobody')).toMatchObject({ day: 130 });
  });
});

describe('reservations per key', () => {
  it('a key never read has nothing queued; a reservation removed twice, its key forgotten in between, is no error', () => {
    const db = new Database(':memory:');
    new SqliteUsageStore(db, usageConfig()); // the usage tables
    const live = new LiveReservations(db);
    expect(live.queued('team', 'never-read')).toBe(0);
    const r = reservation('once', at('2026-06-03T10:00:00Z'));
    live.sums('team', 't', r.atMs, starts(r.atMs)); // read once: its sums are kept from now on
    live.add(r);
    expect(live.queued('team', 't')).toBeGreaterThan(0);
    live.remove(r);
    expect(() => live.remove(r)).not.toThrow();
    expect(live.queued('team', 't')).toBe(0);
  });
});
