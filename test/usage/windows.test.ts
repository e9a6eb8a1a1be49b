import { describe, expect, it } from 'vitest';
import { windowStarts } from '../../src/usage/windows.js';
import { formatMicros, parseMicros } from '../../src/usage/money.js';
import { usageConfig } from '../../src/usage/config.js';

describe('calendar windows in a time zone', () => {
  it('UTC: day, ISO week from Monday, month, rolling', () => {
    const w = windowStarts(new Date('2026-11-22T15:30:00Z'), 'UTC', 60); // a Sunday
    expect(new Date(w.day).toISOString()).toBe('2026-11-22T00:00:00.000Z');
    expect(new Date(w.week).toISOString()).toBe('2026-11-16T00:00:00.000Z');
    expect(new Date(w.month).toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(new Date(w.rolling).toISOString()).toBe('2026-11-22T14:30:00.000Z');
  });

  it('America/New_York: local midnight, across the DST change', () => {
    // 2026-03-08 is the spring-forward Sunday; 02:00 local does not exist.
    const w = windowStarts(new Date('2026-03-09T12:00:00Z'), 'America/New_York', 60); // Monday 08:00 EDT
    expect(new Date(w.day).toISOString()).toBe('2026-03-09T04:00:00.000Z'); // EDT, UTC-4
    expect(new Date(w.week).toISOString()).toBe('2026-03-09T04:00:00.000Z');
    expect(new Date(w.month).toISOString()).toBe('2026-03-01T05:00:00.000Z'); // EST, UTC-5
  });

  it('late evening local time belongs to the local day, not the UTC one', () => {
    const w = windowStarts(new Date('2026-11-23T03:00:00Z'), 'America/Los_Angeles', 60); // Sun 19:00 PST
    expect(new Date(w.day).toISOString()).toBe('2026-11-22T08:00:00.000Z');
    expect(new Date(w.week).toISOString()).toBe('2026-11-16T08:00:00.000Z');
  });
});

describe('money as exact micro-units', () => {
  it.each([
    ['0', 0],
    ['1.5', 1_500_000],
    ['0.000001', 1],
    ['12.345678', 12_345_678],
  ])('%s', (text, micros) => {
    expect(parseMicros(text)).toBe(micros);
    expect(parseMicros(formatMicros(micros))).toBe(micros);
  });
  it.each(['-1', '1.2345678', 'abc', '', '1e3'])('rejects %j', (text) => expect(parseMicros(text)).toBeUndefined());
});

describe('usage config', () => {
  it('names the bad key', () => {
    expect(() => usageConfig({ timeZone: 'Mars/Olympus' })).toThrow(/usage.timeZone/);
    expect(() => usageConfig({ reservationTtlSeconds: 0 })).toThrow(/usage.reservationTtlSeconds/);
  });
});
