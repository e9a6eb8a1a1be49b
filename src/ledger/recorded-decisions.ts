import type { Database } from 'better-sqlite3';
import type { RecordedDecision, RecordedDecisions, RecordedFilter } from '../engine/replay/recorded.js';
import { GavelError } from '../lib/errors.js';
import { hasKinds, where, type QueryFilter } from './query.js';

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
  body: string | null;
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

  *read(filter: RecordedFilter): Generator<RecordedDecision> {
    const { sql, params } = this.clause(filter);
    const stmt = this.db.prepare(
      `SELECT e.seq, e.decision_id, e.time, e.entrypoint, e.bundle, e.revision, e.digest, e.decision, e.reason_codes, p.body
       FROM entries e LEFT JOIN payloads p ON p.seq = e.seq ${sql}
       ORDER BY e.seq ASC LIMIT ?`,
    );
    for (const row of stmt.iterate(...params, filter.limit ?? -1) as Iterable<Row>) {
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
        payload: row.body,
      };
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
