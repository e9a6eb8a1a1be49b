import { GavelError } from '../../lib/errors.js';
import type { PageCursor, QueryFilter } from '../../runtime/faces.js';

/**
 * The decisions page's filter as the URL holds it, so a link can be shared: one query parameter
 * per filter, named as in `gavel audit query` (snake_case). The page cursor is `cursor`.
 */
export const FILTER_PARAMS = [
  ['since', 'since', 'From (RFC 3339 time or 15m, 24h, 7d back)'],
  ['until', 'until', 'Until'],
  ['kind', 'kind', 'Kind'],
  ['decision', 'decision', 'Outcome or event'],
  ['subject', 'subject', 'Subject'],
  ['team', 'team', 'Team'],
  ['cost_center', 'costCenter', 'Cost center'],
  ['resource', 'resource', 'Model or tool'],
  ['action', 'action', 'Action type'],
  ['reason', 'reason', 'Reason code'],
  ['revision', 'revision', 'Policy revision'],
  ['caller', 'caller', 'Caller'],
] as const satisfies ReadonlyArray<readonly [string, keyof QueryFilter, string]>;

export type FilterParam = (typeof FILTER_PARAMS)[number][0];
export type ConsoleFilter = Partial<Record<FilterParam, string>>;

const MAX_VALUE_CHARS = 256;

/** The filter in a request's query string (unknown parameters ignored); throws invalid_query for a value too long or repeated. */
export function filterOf(query: Record<string, unknown>): ConsoleFilter {
  const out: ConsoleFilter = {};
  for (const [param] of FILTER_PARAMS) {
    const value = query[param];
    if (value === undefined || value === '') continue;
    if (typeof value !== 'string') throw new GavelError('invalid_query', `${param} is given more than once`);
    if (value.length > MAX_VALUE_CHARS) throw new GavelError('invalid_query', `${param} is longer than ${MAX_VALUE_CHARS} characters`);
    out[param] = value.trim();
  }
  return out;
}

export function queryFilterOf(filter: ConsoleFilter): QueryFilter {
  const out: QueryFilter = {};
  for (const [param, key] of FILTER_PARAMS) {
    const value = filter[param];
    if (value) (out as Record<string, string>)[key] = value;
  }
  return out;
}

/** `?since=…&team=…` (empty values left out), with extra parameters such as the cursor. */
export function searchOf(filter: ConsoleFilter, extra: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [param] of FILTER_PARAMS) if (filter[param]) params.set(param, filter[param]!);
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== '') params.set(k, v);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/**
 * Where each ledger's part of the merged list ended: `<ledger>:<seq>:<time ms>` per ledger, comma-separated,
 * `<ledger>:end` for one with nothing left. Absent ledgers start from their newest entry.
 */
export type Cursors = Map<number, PageCursor | 'end'>;

export function parseCursors(text: unknown, ledgers: number): Cursors {
  const out: Cursors = new Map();
  if (text === undefined || text === '') return out;
  const bad = () => new GavelError('invalid_query', 'the page cursor is not one gavel made');
  if (typeof text !== 'string' || text.length > 64 * Math.max(1, ledgers)) throw bad();
  for (const part of text.split(',')) {
    const m = /^(\d{1,3}):(?:(end)|(\d{1,15}):(-?\d{1,16}))$/.exec(part);
    if (!m) throw bad();
    const index = Number(m[1]);
    if (index >= ledgers || out.has(index)) throw bad();
    out.set(index, m[2] ? 'end' : { seq: Number(m[3]), timeMs: Number(m[4]) });
  }
  return out;
}

export function formatCursors(cursors: Cursors): string {
  return [...cursors]
    .sort(([a], [b]) => a - b)
    .map(([i, c]) => (c === 'end' ? `${i}:end` : `${i}:${c.seq}:${c.timeMs}`))
    .join(',');
}
