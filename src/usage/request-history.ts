import type { Database, Statement } from 'better-sqlite3';
import type { History, RequestRow } from './store.js';
import type { StateReadGuard } from './state-read-guard.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
/** Past this many subjects the logs are dropped; each is loaded again, from one indexed read, when next asked for. */
const MAX_SUBJECTS = 100_000;
/** A log's arrays drop their counted-out front once it is this long and over half of them. */
const COMPACT_AT = 1024;

interface Recent {
  atMs: number;
  tool: string;
}

/**
 * The history the policy sees for each subject (requests and tool calls in the
 * last minute, denials in the last hour), from the committed `usage_requests`
 * rows, kept in memory per subject. A read costs the same for an agent making
 * ten calls a second as for one making ten an hour: counting the rows in SQL,
 * as every read did before, took 1.2 ms at 3,600 rows an hour and 15 ms at
 * 36,000, inside the subject's lock.
 *
 * A subject's log is loaded from the table the first time it is read, and
 * follows each committed row from then on (`add`, after COMMIT). Each read lets
 * go of the rows its windows have left behind, so it then answers reads at that
 * instant or later; a read at an earlier instant (a clock stepped back) is
 * answered from the table. The state guard is asked before each of those table
 * reads, not before a read from memory: memory holds only rows this server
 * committed, so an edit of the table by anyone else cannot reach it.
 */
export class RequestHistory {
  private readonly logs = new Map<string, SubjectLog>();
  private readonly stmts: Record<'requests' | 'denials' | 'counts' | 'tools', Statement>;

  constructor(
    db: Database,
    private readonly maxSubjects = MAX_SUBJECTS,
    private readonly guard?: StateReadGuard,
  ) {
    this.stmts = {
      requests: db.prepare('SELECT at_ms AS atMs, tool FROM usage_requests WHERE subject = ? AND at_ms >= ? ORDER BY at_ms'),
      denials: db.prepare(`SELECT at_ms AS atMs FROM usage_requests WHERE subject = ? AND at_ms >= ? AND decision = 'deny' ORDER BY at_ms`),
      counts: db.prepare(`SELECT SUM(at_ms >= @minute) AS requests, SUM(at_ms >= @hour AND decision = 'deny') AS denials
        FROM usage_requests WHERE subject = @subject AND at_ms >= @hour`),
      tools: db.prepare(`SELECT tool, COUNT(*) AS n FROM usage_requests WHERE subject = ? AND at_ms >= ? AND tool != '' GROUP BY tool`),
    };
  }

  /** The history of `subject` at `nowMs`: its committed rows, and those of `staged` (rows not committed yet) that are its. */
  read(subject: string, nowMs: number, staged: Iterable<RequestRow> = []): History {
    const log = this.logs.get(subject) ?? this.load(subject, nowMs);
    const history = log.read(nowMs) ?? this.fromTable(subject, nowMs);
    for (const r of staged) {
      if (r.subject !== subject || r.atMs < nowMs - HOUR) continue;
      if (r.decision === 'deny') history.denials_last_hour++;
      if (r.atMs < nowMs - MINUTE) continue;
      history.requests_last_minute++;
      if (r.tool) history.tool_calls_last_minute[r.tool] = (history.tool_calls_last_minute[r.tool] ?? 0) + 1;
    }
    return history;
  }

  /** A committed row: counted by the subject's log, if it has one (a log loaded later reads it from the table). */
  add(row: RequestRow): void {
    this.logs.get(row.subject)?.add(row);
  }

  /** Subjects with a log in memory. */
  get subjects(): number {
    return this.logs.size;
  }

  /** The definition: the subject's rows counted in SQL. */
  fromTable(subject: string, nowMs: number): History {
    this.guard?.check();
    const minute = nowMs - MINUTE;
    const hour = nowMs - HOUR;
    const counts = this.stmts.counts.get({ subject, minute, hour }) as { requests: number | null; denials: number | null };
    const tools = this.stmts.tools.all(subject, minute) as Array<{ tool: string; n: number }>;
    return {
      requests_last_minute: counts.requests ?? 0,
      denials_last_hour: counts.denials ?? 0,
      tool_calls_last_minute: Object.fromEntries(tools.map((t) => [t.tool, t.n])),
    };
  }

  private load(subject: string, nowMs: number): SubjectLog {
    if (this.logs.size >= this.maxSubjects) this.logs.clear();
    this.guard?.check();
    const log = new SubjectLog(nowMs);
    // The last minute's requests and the last hour's denials, nothing more: an hour of a busy agent's rows is not kept.
    for (const r of this.stmts.requests.iterate(subject, nowMs - MINUTE) as Iterable<Recent>) log.add({ ...r, decision: '' });
    for (const d of this.stmts.denials.iterate(subject, nowMs - HOUR) as Iterable<{ atMs: number }>) log.addDenial(d.atMs);
    this.logs.set(subject, log);
    return log;
  }
}

/** One subject's rows that a read at or after `since` counts, in time order, with running counts (also the shared store's, postgres/history-cache.ts). */
export class SubjectLog {
  /** Every request at or after `since` - 1 minute is in `requests[head..]`. */
  private requests: Recent[] = [];
  private head = 0;
  /** Every denial at or after `since` - 1 hour is in `denials[denialsHead..]`. */
  private denials: number[] = [];
  private denialsHead = 0;
  private readonly tools = new Map<string, number>();

  /** The latest instant the log was loaded or read at: it answers reads at or after it. */
  constructor(private since: number) {}

  add(row: { atMs: number; tool: string; decision: string }): void {
    if (row.atMs >= this.since - MINUTE) {
      insertSorted(this.requests, this.head, { atMs: row.atMs, tool: row.tool }, (r) => r.atMs);
      if (row.tool) this.tools.set(row.tool, (this.tools.get(row.tool) ?? 0) + 1);
    }
    if (row.decision === 'deny') this.addDenial(row.atMs);
  }

  addDenial(atMs: number): void {
    if (atMs >= this.since - HOUR) insertSorted(this.denials, this.denialsHead, atMs, (t) => t);
  }

  /** Rows this log holds in memory, counted out or not: what its arrays cost until they drop their front. */
  get kept(): number {
    return this.requests.length + this.denials.length;
  }

  /** The counts at `nowMs`, or undefined for an instant before `since` (the log may have let its rows go). */
  read(nowMs: number): History | undefined {
    if (nowMs < this.since) return undefined;
    this.since = nowMs;
    this.forget(nowMs - MINUTE, nowMs - HOUR);
    return {
      requests_last_minute: this.requests.length - this.head,
      denials_last_hour: this.denials.length - this.denialsHead,
      tool_calls_last_minute: Object.fromEntries(this.tools),
    };
  }

  /** Drops the rows before the windows' starts: no read from here on counts them. */
  private forget(minute: number, hour: number): void {
    while (this.head < this.requests.length && this.requests[this.head]!.atMs < minute) {
      const { tool } = this.requests[this.head++]!;
      if (!tool) continue;
      const n = this.tools.get(tool)! - 1;
      if (n === 0) this.tools.delete(tool);
      else this.tools.set(tool, n);
    }
    while (this.denialsHead < this.denials.length && this.denials[this.denialsHead]! < hour) this.denialsHead++;
    if (this.head >= COMPACT_AT && this.head * 2 > this.requests.length) {
      this.requests = this.requests.slice(this.head);
      this.head = 0;
    }
    if (this.denialsHead >= COMPACT_AT && this.denialsHead * 2 > this.denials.length) {
      this.denials = this.denials.slice(this.denialsHead);
      this.denialsHead = 0;
    }
  }
}

/** Inserts after every item of `xs[from..]` not later than it (rows arrive nearly in time order: usually at the end). */
function insertSorted<T>(xs: T[], from: number, item: T, time: (x: T) => number): void {
  const t = time(item);
  let at = xs.length;
  while (at > from && time(xs[at - 1]!) > t) at--;
  xs.splice(at, 0, item);
}
