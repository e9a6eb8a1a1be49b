import type pg from 'pg';
import { SubjectLog } from '../request-history.js';
import type { History, RequestRow } from '../store.js';
import { HISTORY } from './sql.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
/** Past this many subjects the logs are dropped; each is loaded again when next read. */
const MAX_SUBJECTS = 100_000;

/** A subject's history key row as the decision's transaction locked it. */
export interface HistoryRow {
  /** Request rows the subject has had numbered (each decision that adds one bumps it, under the lock). */
  seq: number;
  /** Bumped when rows are taken back or rewritten: a log at another generation is loaded again. */
  gen: number;
}

interface Cached {
  log: SubjectLog;
  seq: number;
  gen: number;
}

/**
 * The request history the policy sees (requests and tool calls in the last minute, denials in the
 * last hour) on the shared store, kept in memory per subject as the embedded store does
 * (request-history.ts) and kept correct across replicas by the subject's history key row: every
 * decision that adds a request row numbers it (`subject_seq`) under that row's lock and bumps its
 * `seq`. A replica holding the lock reads only the rows numbered since its log last looked (none when
 * it made the last one itself), so a read costs the same for a subject making ten calls a second as
 * for one making ten an hour; counting the hour's rows in SQL, as every read did before, grew with both.
 */
export class SharedHistories {
  private readonly logs = new Map<string, Cached>();

  /** The history at `nowMs`; `row` is the subject's key row as locked (undefined: not locked, counted in SQL). */
  async read(q: pg.Pool | pg.PoolClient, subject: string, nowMs: number, row: HistoryRow | undefined): Promise<History> {
    if (!row) return fromTable(q, subject, nowMs);
    let cached = this.logs.get(subject);
    if (!cached || cached.gen !== row.gen || row.seq < cached.seq) cached = await this.load(q, subject, nowMs, row);
    else if (cached.seq < row.seq) {
      const added = await q.query<{ at_ms: string; tool: string; decision: string }>({
        name: 'gavel_history_since',
        text: 'SELECT at_ms, tool, decision FROM gavel_usage_requests WHERE subject = $1 AND subject_seq > $2 AND subject_seq <= $3',
        values: [subject, cached.seq, row.seq],
      });
      for (const r of added.rows) cached.log.add({ atMs: Number(r.at_ms), tool: r.tool, decision: r.decision });
      cached.seq = row.seq;
    }
    return cached.log.read(nowMs) ?? fromTable(q, subject, nowMs);
  }

  /** This replica's own row committed as number `seq`: counted at once when the log was at the number before it. */
  committed(row: RequestRow, seq: number): void {
    const cached = this.logs.get(row.subject);
    if (!cached || cached.seq !== seq - 1) return;
    cached.log.add(row);
    cached.seq = seq;
  }

  /** Subjects with a log in memory. */
  get subjects(): number {
    return this.logs.size;
  }

  private async load(q: pg.Pool | pg.PoolClient, subject: string, nowMs: number, row: HistoryRow): Promise<Cached> {
    if (this.logs.size >= MAX_SUBJECTS) this.logs.clear();
    const log = new SubjectLog(nowMs);
    // The last minute's requests and the last hour's denials, nothing more (under the lock: no row is added meanwhile).
    const recent = await q.query<{ at_ms: string; tool: string }>({
      name: 'gavel_history_recent',
      text: 'SELECT at_ms, tool FROM gavel_usage_requests WHERE subject = $1 AND at_ms >= $2',
      values: [subject, nowMs - MINUTE],
    });
    for (const r of recent.rows) log.add({ atMs: Number(r.at_ms), tool: r.tool, decision: '' });
    const denials = await q.query<{ at_ms: string }>({
      name: 'gavel_history_denials',
      text: `SELECT at_ms FROM gavel_usage_requests WHERE subject = $1 AND at_ms >= $2 AND decision = 'deny'`,
      values: [subject, nowMs - HOUR],
    });
    for (const d of denials.rows) log.addDenial(Number(d.at_ms));
    const cached = { log, seq: row.seq, gen: row.gen };
    this.logs.set(subject, cached);
    return cached;
  }
}

/** The definition: the subject's rows counted in SQL. */
export async function fromTable(q: pg.Pool | pg.PoolClient, subject: string, nowMs: number): Promise<History> {
  const h = (await q.query({ name: 'gavel_usage_history', text: HISTORY, values: [subject, nowMs - MINUTE, nowMs - HOUR] })).rows[0] as {
    requests: string;
    denials: string;
    tools: Record<string, unknown>;
  };
  return {
    requests_last_minute: Number(h.requests),
    denials_last_hour: Number(h.denials),
    tool_calls_last_minute: Object.fromEntries(Object.entries(h.tools).map(([t, n]) => [t, Number(n)])),
  };
}
