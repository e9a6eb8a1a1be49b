import pg from 'pg';
import { isDue, type Approval } from '../../engine/approvals/approval.js';
import { APPROVAL_COLUMNS, fieldOf, setField, type ApprovalColumn } from '../../engine/approvals/columns.js';
import type { ApprovalChange, ApprovalFilter, ApprovalStore, ApprovalWrite } from '../../engine/approvals/store.js';
import type { Receipt } from '../../engine/ledger.js';
import { canonicalJson } from '../../lib/canonical.js';
import { GavelError } from '../../lib/errors.js';
import type { RowSigner } from './row-signer.js';
import { databaseErrorOf } from './failure.js';
import { int, literal, text } from './sql.js';

export interface SharedApprovalsOptions {
  /** This replica's ledger: named in each row it changes. */
  ledgerId: string;
  signer: RowSigner;
  /** How often the watched approvals are read while the LISTEN connection is down, and unsealed writes retried. */
  pollMs: number;
  /**
   * The receipt of an entry this replica's ledger committed, by its id: a change is sealed with its own
   * entry's (a decision's change is the entry chained after the decision's).
   */
  receiptOf: (entryId: string) => Receipt | undefined;
  /**
   * True when this replica's own ledger recorded the end of this approval (rejected, expired or used):
   * a row that shows it open again was put back by someone with database access, and is not honoured.
   */
  endedHere: (approvalId: string) => boolean;
  /** A connection of its own, outside the pool (LISTEN, and the sweep's lock). */
  connect: () => pg.Client;
  /** The shared store's failure wrapper (fails closed as usage_unavailable, marks health down). */
  guard: <T>(step: () => Promise<T>) => Promise<T>;
  /** A row whose signature does not hold, a seal or undo that failed (retried), a lost LISTEN connection. */
  onError: (err: unknown, what: string) => void;
}

/** An approvals row as the database returns it (bigint columns as text). */
export type SharedApprovalRow = Record<string, unknown>;
type Row = SharedApprovalRow;

/** How a row is vouched for, beside the approval's own columns. */
export interface Seal {
  version: number;
  ledgerId: string;
  entryId: string;
  seq: number | null;
  entryHash: string | null;
  sig: string | null;
}

const CHANNEL = 'gavel_approvals';
const COLUMNS: readonly ApprovalColumn[] = APPROVAL_COLUMNS;
const OPEN = `state IN ('pending', 'approved')`;
/** Rows that may vouch for something: sealed, or awaiting a seal over a sealed row. */
const VOUCHABLE = '(sig IS NOT NULL OR previous IS NOT NULL)';
/** The lock a replica takes to sweep expiries (one at a time across replicas). */
const SWEEP_LOCK = `hashtext('gavel approval sweep')`;
/** A conditional change found the row at another version: `1 / count(*)` over no updated row divides by zero. */
const ROW_CHANGED = '22012';
/** Pages of rows read to fill one answer with honoured ones, at most (rows no replica vouches for are skipped). */
const MAX_PAGES = 8;
/** Approvals whose highest version seen is remembered (a row put back to a lower one is refused). */
const SEEN_VERSIONS = 10_000;

/**
 * Approval requests in PostgreSQL, shared by replicas (README "Approvals across replicas"). A change is
 * written before the entry that records it commits, only if the row is still at the version the change
 * was decided on, and sealed after: the entry's receipt and the replica's signature over the row and
 * receipt. Only a sealed row with a valid signature is honoured; while a change waits for its seal the
 * row it replaced (`previous`) is what every replica sees. So an `UPDATE` by someone with database
 * access approves nothing, and every honoured state is one a replica's chain recorded.
 */
export class PostgresApprovalStore implements ApprovalStore {
  readonly shared = true;
  private readonly pool: pg.Pool;
  private readonly o: SharedApprovalsOptions;
  /** The row each approval this store returned was read from (what a change of it replaces). */
  private readonly read = new WeakMap<Approval, Row>();
  /** The highest version of each approval this replica has honoured. */
  private readonly seen = new Map<string, number>();
  /** Seals and undos that failed, retried on the poll timer until they succeed. */
  private readonly unsettled = new Map<string, () => Promise<void>>();
  private listener: pg.Client | undefined;
  private listenState: 'down' | 'connecting' | 'up' = 'down';
  private readonly subscribers = new Set<{ emit: (a: Approval) => void; watched: () => Iterable<string> }>();
  /** The version last emitted per watched approval while polling (the LISTEN connection down). */
  private readonly polled = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private closed = false;

  constructor(pool: pg.Pool, options: SharedApprovalsOptions) {
    this.pool = pool;
    this.o = options;
    this.timer = setInterval(() => void this.tick(), options.pollMs);
    this.timer.unref();
  }

  async get(id: string): Promise<Approval | undefined> {
    const rows = await this.query('SELECT * FROM gavel_approvals WHERE id = $1', [id]);
    return rows[0] ? this.honoured(rows[0]) : undefined;
  }

  async list(filter: ApprovalFilter): Promise<Approval[]> {
    const clauses: string[] = [VOUCHABLE];
    const params: unknown[] = [];
    const eq = (column: string, value: string | undefined) => {
      if (!value) return;
      params.push(value);
      clauses.push(`${column} = $${params.length}`);
    };
    eq('subject_id', filter.subject);
    eq('team', filter.team);
    if (filter.state) {
      // An unsealed row counts as the state it replaced (checked once vouched for).
      params.push(filter.state);
      clauses.push(`(state = $${params.length} OR sig IS NULL)`);
    }
    const role = filter.approverRole;
    // Every filter checked again on the approval vouched for (an unsealed row shows the one it replaced).
    const accept = (a: Approval) =>
      (!filter.state || a.state === filter.state) &&
      (!filter.subject || a.subjectId === filter.subject) &&
      (!filter.team || a.team === filter.team) &&
      (!role || a.approvers.some((x) => x === role || x === `role:${role}`));
    return this.honouredPage(`SELECT * FROM gavel_approvals WHERE ${clauses.join(' AND ')} ORDER BY created_ms DESC, id`, params, filter.limit, accept);
  }

  async openFor(fingerprint: string, nowMs: number): Promise<Approval | undefined> {
    const [open] = await this.honouredPage(
      `SELECT * FROM gavel_approvals WHERE fingerprint = $1 AND ${OPEN} AND expires_ms > $2 AND ${VOUCHABLE} ORDER BY created_ms DESC, id`,
      [fingerprint, nowMs],
      1,
      (a) => a.fingerprint === fingerprint && (a.state === 'pending' || a.state === 'approved') && a.expiresAtMs > nowMs,
    );
    return open;
  }

  async openCount(nowMs: number): Promise<number> {
    const rows = await this.query(`SELECT count(*) AS n FROM gavel_approvals WHERE ${OPEN} AND expires_ms > $1 AND ${VOUCHABLE}`, [nowMs]);
    return Number(rows[0]?.n ?? 0);
  }

  async due(nowMs: number, limit: number): Promise<Approval[]> {
    return this.honouredPage(`SELECT * FROM gavel_approvals WHERE ${OPEN} AND expires_ms <= $1 AND ${VOUCHABLE} ORDER BY expires_ms, id`, [nowMs], limit, (a) =>
      isDue(a, nowMs),
    );
  }

  stage(change: ApprovalChange): ApprovalWrite {
    const { next, previous, entryId } = change;
    const before = previous ? this.read.get(previous) : undefined;
    if (previous && !before) throw new GavelError('approval_changed', `approval ${previous.id} was not read from the shared store; read it again`);
    return this.writeFor(next, before, before ? Number(before.version) + 1 : 1, entryId);
  }

  /** The write of `next` over the sealed row `before` (none: a new request), as version `version`, recorded by entry `entryId`. */
  private writeFor(next: Approval, before: Row | undefined, version: number, entryId: string): ApprovalWrite {
    const values = columnValues(next);
    const own = { version: int(version), ledger_id: text(this.o.ledgerId), entry_id: text(entryId) };
    const statements = before
      ? [
          // Only over the sealed row this change was decided on: otherwise nothing is updated, and dividing by the count fails the transaction.
          `WITH changed AS (UPDATE gavel_approvals SET ${Object.entries({ ...values, ...own })
            .map(([c, v]) => `${c} = ${v}`)
            .join(', ')}, seq = NULL, entry_hash = NULL, sig = NULL, previous = ${text(JSON.stringify(before))}
             WHERE id = ${text(next.id)} AND version = ${int(version - 1)} AND sig IS NOT NULL RETURNING 1)
           SELECT 1 / count(*) AS unchanged FROM changed`,
        ]
      : [
          `INSERT INTO gavel_approvals (${[...Object.keys(values), ...Object.keys(own)].join(', ')}) VALUES (${[...Object.values(values), ...Object.values(own)].join(', ')})`,
        ];
    const key = `id = ${text(next.id)} AND version = ${int(version)} AND entry_id = ${text(entryId)} AND sig IS NULL`;
    const seal = async () => {
      const receipt = this.o.receiptOf(entryId);
      if (!receipt) throw new Error(`approval ${next.id}: the entry ${entryId} that records its change is not in this replica's ledger`);
      const s: Seal = { version, ledgerId: this.o.ledgerId, entryId, seq: receipt.seq, entryHash: receipt.entryHash, sig: null };
      const sig = this.o.signer.sign(signedBody(next, s));
      await this.batch([
        `UPDATE gavel_approvals SET seq = ${int(receipt.seq)}, entry_hash = ${text(receipt.entryHash)}, sig = ${text(sig)}, previous = NULL WHERE ${key}`,
        `SELECT pg_notify(${text(CHANNEL)}, ${text(next.id)})`,
      ]);
    };
    // Conditional on this change still being there unsealed: a write that never landed undoes nothing.
    const undo = async () => {
      await this.batch([before ? `UPDATE gavel_approvals SET ${restoring(before)}, previous = NULL WHERE ${key}` : `DELETE FROM gavel_approvals WHERE ${key}`]);
    };
    return {
      writes: [],
      version,
      shared: { statements, write: () => this.writeAlone(statements) },
      settle: async (receipt) => {
        const step = receipt ? seal : undo;
        try {
          await step();
          this.unsettled.delete(next.id);
        } catch (err) {
          // Until it succeeds the row is unsealed: no replica honours the change (they see the row it replaced).
          this.unsettled.set(next.id, step);
          throw err;
        }
      },
    };
  }

  /**
   * The changes this replica wrote and never sealed (it stopped between writing one and sealing it):
   * those its ledger recorded are sealed now, the others undone. Run once at start; returns how many.
   */
  async reconcile(): Promise<number> {
    const rows = await this.query('SELECT * FROM gavel_approvals WHERE ledger_id = $1 AND sig IS NULL', [this.o.ledgerId]);
    for (const row of rows) {
      const next = approvalOf(row);
      const s = sealOf(row);
      const before = typeof row.previous === 'string' ? (JSON.parse(row.previous) as Row) : undefined;
      const write = this.writeFor(next, before, s.version, s.entryId);
      await write.settle(this.o.receiptOf(s.entryId));
    }
    return rows.length;
  }

  changes(emit: (a: Approval) => void, watched: () => Iterable<string>): () => void {
    const sub = { emit, watched };
    this.subscribers.add(sub);
    void this.listen();
    return () => this.subscribers.delete(sub);
  }

  /** Runs the sweep on a connection of its own holding the sweep's lock (the sweep's own reads use the pool). */
  async alone(task: () => Promise<number>): Promise<number> {
    const client = this.o.connect();
    client.on('error', () => undefined);
    try {
      await this.o.guard(() => client.connect());
      const got = await this.o.guard(() => client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${SWEEP_LOCK}) AS ok`));
      // Another replica is sweeping: the session-level lock goes with this connection.
      return got.rows[0]?.ok ? await task() : 0;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Stops listening and retrying; the pool is the usage store's to close. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    const listener = this.listener;
    this.listener = undefined;
    this.listenState = 'down';
    void listener?.end().catch(() => undefined);
  }

  /**
   * Up to `limit` approvals the rows vouch for and `accept` takes, in the query's order: rows no replica
   * vouches for are skipped, reading further pages (at most MAX_PAGES) to fill the answer.
   */
  private async honouredPage(sql: string, params: unknown[], limit: number, accept: (a: Approval) => boolean): Promise<Approval[]> {
    const out: Approval[] = [];
    const page = Math.max(limit, 16);
    for (let n = 0; n < MAX_PAGES && out.length < limit; n++) {
      const rows = await this.query(`${sql} LIMIT ${int(page)} OFFSET ${int(n * page)}`, params);
      for (const r of rows) {
        const a = this.honoured(r);
        if (a && accept(a)) out.push(a);
        if (out.length >= limit) break;
      }
      if (rows.length < page) break;
    }
    return out;
  }

  /**
   * The approval a row vouches for: itself when sealed with a valid signature, the sealed row it
   * replaced while a change awaits its seal, and nothing when neither holds (an edit, a row written
   * without its entry, a row put back to an earlier state this replica has seen pass).
   */
  private honoured(row: Row): Approval | undefined {
    try {
      if (row.sig === null || row.sig === undefined) {
        if (typeof row.previous !== 'string') return undefined;
        const before = JSON.parse(row.previous) as Row;
        // Only the sealed row this very change replaced.
        if (before.id !== row.id || Number(before.version) !== Number(row.version) - 1 || !before.sig) return undefined;
        return this.honoured(before);
      }
      const a = approvalOf(row);
      const s = sealOf(row);
      if (a.id !== row.id || !this.o.signer.verify(s.ledgerId, signedBody(a, s), String(row.sig))) {
        this.o.onError(
          new Error(`approval ${String(row.id)}: its shared row does not carry a valid signature of a known replica; not honoured`),
          'a shared approval row',
        );
        return undefined;
      }
      if (s.version < (this.seen.get(a.id) ?? 0) || ((a.state === 'pending' || a.state === 'approved') && this.o.endedHere(a.id))) {
        this.o.onError(
          new Error(`approval ${a.id}: its shared row was put back to an earlier state (version ${s.version}); not honoured`),
          'a shared approval row',
        );
        return undefined;
      }
      this.remember(a.id, s.version);
      this.read.set(a, row);
      return a;
    } catch (err) {
      this.o.onError(err, `reading shared approval row ${String(row.id)}`);
      return undefined;
    }
  }

  private remember(id: string, version: number): void {
    if (!this.seen.has(id) && this.seen.size >= SEEN_VERSIONS) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(id, Math.max(version, this.seen.get(id) ?? 0));
  }

  private async query(sql: string, params: unknown[]): Promise<Row[]> {
    return this.o.guard(async () => (await this.pool.query(sql, params)).rows as Row[]);
  }

  private async batch(statements: string[]): Promise<void> {
    await this.o.guard(() => this.pool.query(statements.join(';\n')));
  }

  /** A change in its own transaction (a vote, an expiry); approval_changed when the row moved. */
  private async writeAlone(statements: readonly string[]): Promise<void> {
    try {
      await this.o.guard(() => this.pool.query(['BEGIN', ...statements, 'COMMIT'].join(';\n')));
    } catch (err) {
      throw approvalRowChanged(err) ? changedError() : err;
    }
  }

  /** LISTEN on a connection of its own; once it drops, the watched approvals are polled until it is back. */
  private async listen(): Promise<void> {
    if (this.listenState !== 'down' || this.closed || this.subscribers.size === 0) return;
    this.listenState = 'connecting';
    const client = this.o.connect();
    const lost = (err: unknown) => {
      if (this.listener !== client) return;
      this.listener = undefined;
      this.listenState = 'down';
      void client.end().catch(() => undefined);
      if (!this.closed) this.o.onError(err, 'listening for shared approval changes (polling until it is back)');
    };
    this.listener = client;
    client.on('error', lost);
    client.on('end', () => lost(new Error('connection ended')));
    client.on('notification', (n) => {
      if (n.channel === CHANNEL && n.payload) void this.changed(n.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      if (this.listener === client) {
        this.listenState = 'up';
        // What changed while nobody listened (between the drop and now) is read once: no notification is lost.
        void this.readWatched().catch(() => undefined);
      }
      // Closed while connecting: this connection is not kept.
      if (this.closed) await client.end().catch(() => undefined);
    } catch (err) {
      lost(err);
    }
  }

  /** One approval changed on some replica: its watchers hear of it (the desk tells each change once). */
  private async changed(id: string): Promise<void> {
    const watchedBy = [...this.subscribers].filter((s) => [...s.watched()].includes(id));
    if (watchedBy.length === 0) return;
    try {
      const a = await this.get(id);
      if (a) for (const s of watchedBy) s.emit(a);
    } catch (err) {
      this.o.onError(err, 'reading a changed shared approval');
    }
  }

  /** Reads every watched approval and tells its watchers of those whose version moved since the last read. */
  private async readWatched(): Promise<void> {
    for (const s of this.subscribers) {
      for (const id of s.watched()) {
        const a = await this.get(id);
        const version = a ? Number(this.read.get(a)?.version ?? 0) : 0;
        if (a && this.polled.get(id) !== version) {
          this.polled.set(id, version);
          s.emit(a);
        }
      }
    }
  }

  /** The poll timer: retries unsettled writes, reconnects LISTEN, and while it is down reads the watched approvals. */
  private async tick(): Promise<void> {
    if (this.ticking || this.closed) return;
    this.ticking = true;
    try {
      for (const [id, step] of [...this.unsettled]) {
        try {
          await step();
          this.unsettled.delete(id);
        } catch {
          break;
        }
      }
      const watched = new Set([...this.subscribers].flatMap((s) => [...s.watched()]));
      for (const id of [...this.polled.keys()]) if (!watched.has(id)) this.polled.delete(id);
      if (this.listenState === 'up' || this.subscribers.size === 0) return;
      void this.listen();
      await this.readWatched();
    } catch {
      // The next tick tries again; a failing store is reported by its health.
    } finally {
      this.ticking = false;
    }
  }
}

/** The approval's columns as SQL literals (JSON kinds as JSON text; unset optional ones NULL). */
function columnValues(a: Approval): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of COLUMNS) {
    const v = fieldOf(a, c.field);
    out[c.column] = literal(c.kind === 'json' && v !== undefined && v !== null ? JSON.stringify(v) : v);
  }
  return out;
}

/** A row as it was before a change: every column, sealed as it was. */
function restoring(before: Row): string {
  const names = [...COLUMNS.map((c) => c.column), 'version', 'ledger_id', 'entry_id', 'seq', 'entry_hash', 'sig'];
  return names.map((n) => `${n} = ${literal(before[n])}`).join(', ');
}

/** A row as the approval it holds: bigint text as numbers, JSON kinds parsed, null optional ones left out. */
export function approvalOf(r: Row): Approval {
  const out: Record<string, unknown> = {};
  for (const c of COLUMNS) {
    const v = r[c.column];
    const value =
      v === null || v === undefined ? undefined : c.kind === 'json' ? JSON.parse(String(v)) : c.kind === 'time' || c.kind === 'integer' ? Number(v) : v;
    setField(out, c.field, value);
  }
  return out as unknown as Approval;
}

export function sealOf(r: Row): Seal {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    version: Number(r.version),
    ledgerId: String(r.ledger_id),
    entryId: String(r.entry_id),
    seq: num(r.seq),
    entryHash: r.entry_hash === null || r.entry_hash === undefined ? null : String(r.entry_hash),
    sig: null,
  };
}

/** What a replica signs: the whole approval, its version, and the entry (ledger, id, seq, hash) that recorded this state. */
export function signedBody(a: Approval, s: Seal): string {
  return canonicalJson({
    gavel_approval: a as unknown as Record<string, never>,
    version: s.version,
    ledger_id: s.ledgerId,
    entry_id: s.entryId,
    seq: s.seq,
    entry_hash: s.entryHash,
  });
}

/** The error a change failed with, when it was an approval row another replica changed first (a decision's usage transaction too). */
export function approvalRowChanged(err: unknown): boolean {
  return databaseErrorOf(err)?.code === ROW_CHANGED;
}

function changedError(): GavelError {
  return new GavelError('approval_changed', 'another replica changed this approval at the same moment; read it again');
}

/** Every shared approval row, for an audit (gavel audit verify --state-store): read on a connection of its own. */
export async function readSharedApprovals(url: string, timeoutMs: number): Promise<SharedApprovalRow[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, application_name: 'gavel audit' });
  await client.connect();
  try {
    return (await client.query('SELECT * FROM gavel_approvals ORDER BY created_ms, id')).rows as SharedApprovalRow[];
  } finally {
    await client.end().catch(() => undefined);
  }
}
