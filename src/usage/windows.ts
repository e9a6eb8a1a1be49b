/**
 * Window boundaries. Calendar windows (day, ISO week from Monday, month) start
 * at local midnight in the configured time zone; the rolling window is the last
 * N minutes. All returned values are epoch milliseconds.
 */
export interface WindowStarts {
  day: number;
  week: number;
  month: number;
  rolling: number;
}

export const WINDOW_NAMES = ['day', 'week', 'month', 'rolling'] as const;
export type WindowName = (typeof WINDOW_NAMES)[number];

export function windowStarts(now: Date, timeZone: string, rollingMinutes: number): WindowStarts {
  const nowMs = now.getTime();
  const c = calendarDay(nowMs, timeZone);
  return { day: c.day, week: c.week, month: c.month, rolling: nowMs - rollingMinutes * 60_000 };
}

/** The calendar windows of one local day, valid for instants in [from, to). */
export interface CalendarDay {
  from: number;
  to: number;
  day: number;
  week: number;
  month: number;
}

/**
 * Calendar window starts change once a local day, so they are computed once a
 * day per time zone rather than per decision (Intl time-zone formatting costs
 * microseconds per call, and a decision would need about a dozen).
 */
const currentDays = new Map<string, CalendarDay>();

export function calendarDay(nowMs: number, timeZone: string): CalendarDay {
  const cached = currentDays.get(timeZone);
  if (cached && nowMs >= cached.from && nowMs < cached.to) return cached;
  const local = localParts(new Date(nowMs), timeZone);
  const weekday = (new Date(Date.UTC(local.year, local.month - 1, local.day)).getUTCDay() + 6) % 7; // Monday = 0
  const day = zonedMidnight(local.year, local.month, local.day, timeZone);
  const c: CalendarDay = {
    from: day,
    to: zonedMidnight(local.year, local.month, local.day + 1, timeZone),
    day,
    week: zonedMidnight(local.year, local.month, local.day - weekday, timeZone),
    month: zonedMidnight(local.year, local.month, 1, timeZone),
  };
  // Only the day that is "now" is kept: a clock moving back (tests, replay) recomputes rather than trusting a stale range.
  currentDays.set(timeZone, c);
  return c;
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function localParts(at: Date, timeZone: string): LocalParts {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]));
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
  };
}

/** Epoch ms of local midnight of (year, month, day) in `timeZone`; day may under/overflow like Date.UTC. */
export function zonedMidnight(year: number, month: number, day: number, timeZone: string): number {
  const guess = Date.UTC(year, month - 1, day);
  // The zone's offset at the guess; applying it twice settles DST transitions near midnight.
  let t = guess - offsetMs(new Date(guess), timeZone);
  t = guess - offsetMs(new Date(t), timeZone);
  return t;
}

function offsetMs(at: Date, timeZone: string): number {
  const p = localParts(at, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}

/** The local calendar date of an instant, "YYYY-MM-DD": the key of a daily usage bucket. */
export function localDay(atMs: number, timeZone: string): string {
  const p = localParts(new Date(atMs), timeZone);
  return `${String(p.year).padStart(4, '0')}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}
