import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { windowStarts, zonedMidnight } from '../../src/usage/windows.js';

/** The per-day cache of calendar windows gives the same answer as computing them afresh, in any order of instants. */
const ZONES = ['UTC', 'America/Los_Angeles', 'Europe/Paris', 'Australia/Lord_Howe', 'Asia/Kolkata', 'America/St_Johns'];

/** The oracle: local date by Intl, midnight by zonedMidnight, Monday-based week. */
function expected(nowMs: number, timeZone: string) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' })
      .formatToParts(new Date(nowMs))
      .map((p) => [p.type, p.value]),
  );
  const [y, m, d] = [Number(parts.year), Number(parts.month), Number(parts.day)];
  const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
  return { day: zonedMidnight(y, m, d, timeZone), week: zonedMidnight(y, m, d - weekday, timeZone), month: zonedMidnight(y, m, 1, timeZone) };
}

describe('calendar window cache', () => {
  it('matches a fresh computation for instants in any order, across zones, midnights and DST changes', () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    const instant = fc.integer({ min: start, max: start + 366 * 86_400_000 });
    fc.assert(
      fc.property(fc.array(fc.tuple(instant, fc.constantFrom(...ZONES)), { minLength: 1, maxLength: 20 }), (calls) => {
        for (const [nowMs, zone] of calls) {
          const got = windowStarts(new Date(nowMs), zone, 60);
          expect({ day: got.day, week: got.week, month: got.month }).toEqual(expected(nowMs, zone));
          expect(got.rolling).toBe(nowMs - 3_600_000);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('one millisecond either side of a local midnight falls in different days', () => {
    const midnight = zonedMidnight(2026, 3, 29, 'Europe/Paris'); // the night clocks go forward
    expect(windowStarts(new Date(midnight - 1), 'Europe/Paris', 60).day).toBe(zonedMidnight(2026, 3, 28, 'Europe/Paris'));
    expect(windowStarts(new Date(midnight), 'Europe/Paris', 60).day).toBe(midnight);
    expect(windowStarts(new Date(midnight - 1), 'Europe/Paris', 60).day).toBe(zonedMidnight(2026, 3, 28, 'Europe/Paris'));
  });
});
