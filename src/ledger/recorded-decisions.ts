import type { Database } from 'better-sqlite3';
import type { RecordedDecision, RecordedDecisions, RecordedFilter } from '../engine/replay/recorded.js';
import { GavelError } from '../lib/errors.js';
import { hasKinds, parseTime, where, type QueryFilter } from './query.js';
import { bodyText, type StoredBody } from './payload-body.js';

/** Rows read at once. */
const PAGE = 1024;

interface Row {
  seq: number;
  decision_id: string;
  time: string;
  entrypoint: string;
  bundle: string;
  revision: string;
  digest: string;
  decision: string;
  reason_codes: string;
  body: StoredBody | null;
}

/**
 * Recorded decisions read for replay, oldest first, with their stored
 * payloads (policy events are not decisions and are never read). Reads only:
 * it can run on a connection of its own beside a live writer.
 */
export class LedgerRecordedDecisions implements RecordedDecisions {
  private readonly db: Database;
  private readonly now: () => Date;

  constructor(db: Database, now: () => Date = () => new Date()) {
    this.db = db;
    this.now = now;
  }

  count(filter: RecordedFilter): number {
    const { sql, params } = this.clause(filter);
    const { n } = this.db.prepare(`SELECT count(*) AS n FROM entries ${sql}`).get(...params) as { n: number };
    return filter.limit === undefined ? n : Math.min(n, filter.limit);
  }

  /**
   * Pages of PAGE rows, each its own read: a long replay beside a live writer
   * holds no read transaction open across pages, so the writer's WAL
   * checkpoints still complete. Entries appended after the read began are not
   * read (the last seq is fixed at the start), so the count stays true.
   */
  *read(filter: RecordedFilter): Generator<RecordedDecision> {
    const { sql, params } = this.clause(filter);
    const { last } = this.db.prepare('SELECT coalesce(max(seq), 0) AS last FROM entries').get() as { last: number };
    const page = this.db.prepare(
      `SELECT e.seq, e.decision_id, e.time, e.entrypoint, e.bundle, e.revision, e.digest, e.decision, e.reason_codes, p.body
       FROM entries e LEFT JOIN payloads p ON p.seq = e.seq ${sql ? `${sql} AND` : 'WHERE'} e.seq > ? AND e.seq <= ?
       ORDER BY e.seq ASC LIMIT ?`,
    );
    let after = 0;
    let left = filter.limit ?? Number.POSITIVE_INFINITY;
    while (left > 0) {
      const rows = page.all(...params, after, last, Math.min(PAGE, left)) as Row[];
      for (const row of rows) {
        yield {
          seq: row.seq,
          decisionId: row.decision_id,
          time: row.time,
          entrypoint: row.entrypoint,
          bundle: row.bundle,
          revision: row.revision,
          digest: row.digest,
          decision: row.decision,
          reasonCodes: codesOf(row.reason_codes),
          payload: row.body === null ? null : bodyText(row.body),
        };
      }
      if (rows.length < Math.min(PAGE, left)) return;
      after = rows[rows.length - 1]!.seq;
      left -= rows.length;
    }
  }

  private clause(filter: RecordedFilter): { sql: string; params: unknown[] } {
    if (filter.limit !== undefined && (!Number.isInteger(filter.limit) || filter.limit <= 0)) {
      throw new GavelError('invalid_query', `limit must be a positive integer, got ${filter.limit}`);
    }
    const query: QueryFilter = {
      ...(filter.since ? { since: filter.since } : {}),
      ...(filter.until ? { until: filter.until } : {}),
      ...(filter.subject ? { subject: filter.subject } : {}),
      ...(filter.team ? { team: filter.team } : {}),
      ...(hasKinds(this.db) ? { kind: 'decision' } : {}),
    };
    return where(query, this.now());
  }
}

/** The recorded reason codes; a column that is not a JSON array of strings (a damaged file: `gavel audit verify` says where) reads as none. */
export function codesOf(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((c): c is string => typeof c === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * A replay filter from a request's fields: empty ones dropped, relative times
 * (7d) fixed at `now` as RFC 3339, so the count and the read agree; a time a
 * Date cannot hold is refused (invalid_query).
 */
export function recordedFilter(o: { since?: string; until?: string; subject?: string; team?: string; limit?: number }, now: Date): RecordedFilter {
  const at = (text: string, key: string) => {
    const time = new Date(parseTime(text, now, key));
    if (Number.isNaN(time.getTime())) throw new GavelError('invalid_query', `${key} is out of range, got "${text}"`);
    return time.toISOString();
  };
  return {
    ...(o.since ? { since: at(o.since, 'since') } : {}),
    ...(o.until ? { until: at(o.until, 'until') } : {}),
    ...(o.subject ? { subject: o.subject } : {}),
    ...(o.team ? { team: o.team } : {}),
    ...(o.limit ? { limit: o.limit } : {}),
  };
}
