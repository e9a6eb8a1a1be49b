import pg from 'pg';
import { GavelError } from '../../lib/errors.js';

/**
 * The shared store's reads, as prepared statements (planned once per connection), and the
 * helpers that inline values into batches of statements sent in one round trip.
 */

/** Settled totals per scope key and tier: daily buckets for the calendar windows, minute buckets for the rolling one. */
export const SETTLED = `
WITH wanted AS (SELECT * FROM unnest($1::text[], $2::text[]) AS w(scope, key))
SELECT d.scope, d.key, d.tier,
  sum(CASE WHEN day >= $3 THEN tokens ELSE 0 END) AS day_tokens, sum(CASE WHEN day >= $3 THEN cost_micros ELSE 0 END) AS day_cost,
  sum(CASE WHEN day >= $4 THEN tokens ELSE 0 END) AS week_tokens, sum(CASE WHEN day >= $4 THEN cost_micros ELSE 0 END) AS week_cost,
  sum(CASE WHEN day >= $5 THEN tokens ELSE 0 END) AS month_tokens, sum(CASE WHEN day >= $5 THEN cost_micros ELSE 0 END) AS month_cost,
  0 AS rolling_tokens, 0 AS rolling_cost
FROM gavel_usage_daily d JOIN wanted USING (scope, key) WHERE day >= $6 AND day <= $7 GROUP BY d.scope, d.key, d.tier
UNION ALL
SELECT m.scope, m.key, m.tier, 0, 0, 0, 0, 0, 0, sum(tokens), sum(cost_micros)
FROM gavel_usage_minute m JOIN wanted USING (scope, key) WHERE minute >= $8 GROUP BY m.scope, m.key, m.tier`;

/**
 * Live reservations summed per scope key, tier and window by the database (a few rows however many
 * are live), one index range per scope: $3 now, $4 a decision left out, $5-$8 the window starts.
 */
const RESERVED_WINDOWS = (['day', 'week', 'month', 'rolling'] as const)
  .map((w, i) => {
    const since = `FILTER (WHERE at_ms >= $${i + 5})`;
    return `coalesce(sum(tokens) ${since}, 0) AS ${w}_tokens, coalesce(sum(cost_micros) ${since}, 0) AS ${w}_cost`;
  })
  .join(', ');
export const RESERVED = `
WITH wanted AS (SELECT * FROM unnest($1::text[], $2::text[]) AS w(scope, key)),
live AS (
  SELECT 'subject' AS scope, subject AS key, tier, tokens, cost_micros, at_ms FROM gavel_usage_charges
    WHERE state = 'reserved' AND subject IN (SELECT key FROM wanted WHERE scope = 'subject') AND expires_ms > $3 AND decision_id IS DISTINCT FROM $4
  UNION ALL
  SELECT 'team', team, tier, tokens, cost_micros, at_ms FROM gavel_usage_charges
    WHERE state = 'reserved' AND team IN (SELECT key FROM wanted WHERE scope = 'team') AND expires_ms > $3 AND decision_id IS DISTINCT FROM $4
  UNION ALL
  SELECT 'cost_center', cost_center, tier, tokens, cost_micros, at_ms FROM gavel_usage_charges
    WHERE state = 'reserved' AND cost_center IN (SELECT key FROM wanted WHERE scope = 'cost_center') AND expires_ms > $3 AND decision_id IS DISTINCT FROM $4
)
SELECT scope, key, tier, ${RESERVED_WINDOWS} FROM live GROUP BY scope, key, tier`;

/** A subject's requests in the last minute and denials in the last hour, and its tool calls per tool in the last minute. */
export const HISTORY = `
SELECT count(*) FILTER (WHERE at_ms >= $2) AS requests, count(*) FILTER (WHERE decision = 'deny') AS denials,
  (SELECT coalesce(json_object_agg(tool, n), '{}') FROM
    (SELECT tool, count(*) AS n FROM gavel_usage_requests WHERE subject = $1 AND at_ms >= $2 AND tool <> '' GROUP BY tool) t) AS tools
FROM gavel_usage_requests WHERE subject = $1 AND at_ms >= $3`;
/** A text value as an SQL literal (the client library's escaping). */
export function text(v: string): string {
  return pg.escapeLiteral(v);
}

export function texts(xs: readonly string[]): string {
  return xs.length === 0 ? `'{}'::text[]` : `ARRAY[${xs.map(text).join(', ')}]::text[]`;
}

/** A row's value as an SQL literal: NULL, an integer, or text. */
export function literal(v: unknown): string {
  return v === null || v === undefined ? 'NULL' : typeof v === 'number' ? int(v) : text(String(v));
}

/** An integer as SQL; anything else is refused (it never reaches the text). */
export function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new GavelError('usage_unavailable', `not an integer for the usage store: ${n}`);
  return String(n);
}
