import pg from 'pg';
import type { RecordedRequest } from '../../engine/idempotency.js';
import type { Receipt, StagedWrite } from '../../engine/ledger.js';
import type { RequestClaim } from '../../engine/meter.js';
import { MAX_IDEMPOTENCY_WINDOW_SECONDS } from '../../engine/config.js';
import { errorMessage, failClosed, GavelError } from '../../lib/errors.js';
import { bucketKeysAt, type WindowSums } from '../buckets.js';
import type { UsageConfig } from '../config.js';
import {
  scopeKeys,
  scopesOf,
  settlementOf,
  type ChargeRow,
  type History,
  type Scope,
  type ScopeUsage,
  type RequestRow,
  type Settlement,
  type SettlementRecorder,
  type SettleResult,
  type StagedUsage,
  type UsageRead,
  type UsageStore,
} from '../store.js';
import { scopeUsage } from '../totals.js';
import { localDay, windowStarts } from '../windows.js';
import { redactUrl, type PostgresUsageConfig } from './config.js';
import { ProbedHealth, schemaFailure } from './health.js';
import { fromTable, SharedHistories, type HistoryRow } from './history-cache.js';
import { approvalRowChanged, PostgresApprovalStore, type SharedApprovalsOptions } from './approvals.js';
import type { RowSigner } from './row-signer.js';
import { canonicalJson } from '../../lib/canonical.js';
import { int, RESERVED, SETTLED, text, texts } from './sql.js';
import { databaseErrorOf, isContention, isDown } from './failure.js';
import { checkSchema, migrate, type MigrationResult } from './schema.js';
import { chargeColumns, chargeRowOf, chargeValues, sharedChargeOf, type StoredCharge } from '../charge-columns.js';

const HOUR = 3_600_000;

/** How long a claimed request's receipt waits for the next decision's rows to carry it, before it is written alone. */
const RECEIPT_FLUSH_MS = 20;

interface ClaimReceipt {
  caller: string;
  requestId: string;
  decisionId: string;
  receipt: Receipt;
  /** The row's signature over what it holds with its receipt (requestRowBody); "" without a signer. */
  sig: string;
}

/** What a replica signs of a request id row: the claim, the recorded answer, and the entry that recorded it. */
export function requestRowBody(r: {
  caller: string;
  requestId: string;
  decisionId: string;
  ledgerId: string;
  atMs: number;
  answer: string;
  receipt: Receipt;
}): string {
  return canonicalJson({
    gavel_request: {
      caller: r.caller,
      request_id: r.requestId,
      decision_id: r.decisionId,
      ledger_id: r.ledgerId,
      at_ms: r.atMs,
      answer: r.answer,
      seq: r.receipt.seq,
      entry_hash: r.receipt.entryHash,
    },
  });
}

/** The claim of a request id inside the window is another replica's (its insert failed on the key). */
function isClaimTaken(err: unknown): boolean {
  const e = databaseErrorOf(err);
  return e?.code === '23505' && e.constraint === 'gavel_request_ids_pkey';
}

function inProgress(claim: Pick<RequestClaim, 'caller' | 'requestId'>): GavelError {
  return new GavelError(
    'request_in_progress',
    `request_id ${JSON.stringify(claim.requestId)} of ${claim.caller} is being decided on another replica, or was decided there a moment ago: retry to get its answer`,
  );
}
/** Key rows known to exist, remembered up to this many (then forgotten: the insert is idempotent). */
const MAX_KNOWN_KEYS = 100_000;

/** Expired reservations are kept this long (a late report still settles), then pruned: they never count again. */
const EXPIRED_GRACE_MS = 24 * HOUR;

/** Where a state check starts: budgets read no day before `day` and no minute before `minute`. */
export interface SharedSince {
  ms: number;
  day: string;
  minute: number;
}

export type SharedCharge = StoredCharge;

/** gavel_usage_charges' columns, as the charge column list names them. */
const CHARGE_COLUMNS = chargeColumns('shared');
const CHARGE_NAMES = CHARGE_COLUMNS.map((c) => c.column).join(', ');

/** A charge's values as SQL literals, for a batch of statements (null: NULL). */
function chargeLiterals(c: Partial<StoredCharge>): string {
  return chargeValues(c, 'shared')
    .map((v, i) => (v === null ? 'NULL' : CHARGE_COLUMNS[i]!.type === 'integer' ? int(v as number) : text(String(v))))
    .join(', ');
}

/** Writes a charge as given, whether or not its row exists (a repair from the chain). */
const UPSERT_CHARGE = `INSERT INTO gavel_usage_charges (${CHARGE_NAMES})
  VALUES (${CHARGE_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
  ON CONFLICT (decision_id) DO UPDATE SET ${CHARGE_COLUMNS.filter((c) => !c.key)
    .map((c) => `${c.column} = excluded.${c.column}`)
    .join(', ')}`;
export type SharedBucket = { scope: string; key: string; tier: string; at: string | number; tokens: number; cost_micros: number };

export interface SharedStateRows {
  charges: SharedCharge[];
  settled: SharedCharge[];
  daily: SharedBucket[];
  minute: SharedBucket[];
  /** The request rows (what rate limits count) of the decisions asked about. */
  requests: RequestRow[];
}

/** What a decision's read fetches once, for the keys it locked. */
interface Fetched {
  settled: Array<WindowSums & { scope: Scope; key: string }>;
  reserved: Array<WindowSums & { scope: Scope; key: string }>;
  history: History | undefined;
}

/**
 * Usage state shared by replicas in PostgreSQL. Exact budgets across replicas
 * come from row locks: every usage key (a scope's budget, a subject's history)
 * has a row in gavel_usage_keys, and a decision locks the rows of the keys it
 * touches (in key order, so no two transactions deadlock) before it reads, holds
 * them while its policy is evaluated, and commits its request and reservation
 * rows before its ledger entry is appended. A report locks the same rows to
 * settle, so no decision is evaluated on totals that change under it. If the
 * entry is then given up, the reservation is taken back; if this replica dies
 * first, its reservation expires, and the replica's next start deletes
 * reservations its own ledger never recorded.
 *
 * Settled usage goes into pre-totalled daily and per-minute buckets, so a read
 * costs the same with a year of history as with none.
 */
export class PostgresUsageStore implements UsageStore {
  readonly config: UsageConfig;
  readonly health: ProbedHealth;
  private readonly pool: pg.Pool;
  private readonly pg: PostgresUsageConfig;
  private ledgerId = '';
  /** Keys known to have their row (rows are never deleted). */
  private readonly known = new Set<string>();
  /**
   * Deletes that failed, retried until they succeed: the rows of a decision whose entry was given up
   * ('take back': reservation and request row), or a reservation released with another entry ('release').
   */
  private readonly pending = new Map<string, 'take back' | 'release'>();
  private readonly prune: NodeJS.Timeout;
  private readonly watched = new WeakSet<pg.PoolClient>();
  /** Each subject's recent request history, in memory (history-cache.ts). */
  private readonly histories = new SharedHistories();
  /** Receipts of claimed request ids not yet noted in the shared store, by decision id. */
  private readonly receipts = new Map<string, ClaimReceipt>();
  private receiptTimer: NodeJS.Timeout | undefined;
  /** Claims of entries given up whose delete failed, retried with the prune. */
  private readonly droppedClaims = new Map<string, { caller: string; requestId: string; decisionId: string }>();
  private closed = false;
  private approvalStore: PostgresApprovalStore | undefined;
  /** How this replica vouches for the rows it shares and checks its peers' (set by attach; none outside a runtime). */
  private signer: RowSigner | undefined;
  /** The claims of decisions not yet recorded: what their rows hold, signed with the receipt. */
  private readonly claimed = new Map<string, { answer: string; atMs: number }>();

  private constructor(pool: pg.Pool, pgConfig: PostgresUsageConfig, config: UsageConfig) {
    this.pool = pool;
    this.pg = pgConfig;
    this.config = config;
    this.health = new ProbedHealth(
      () => checkSchema(this.pool),
      pgConfig.probeMs,
      () => {
        this.known.clear();
        void this.retryPending();
      },
    );
    // An idle connection that breaks is an event, not a crash.
    pool.on('error', (err) => this.failed(err));
    this.prune = setInterval(() => void this.pruneOld(Date.now()).catch((err: unknown) => isDown(err) && this.failed(err)), pgConfig.pruneMs);
    this.prune.unref();
  }

  /** Connects, migrates the schema if needed and checks the time zone its buckets were kept in. */
  static async open(pgConfig: PostgresUsageConfig, config: UsageConfig): Promise<{ store: PostgresUsageStore; migration: MigrationResult }> {
    const pool = new pg.Pool(poolOptions(pgConfig));
    pool.on('error', () => undefined);
    try {
      const migration = await migrate(pool);
      await checkTimeZone(pool, config.timeZone);
      return { store: new PostgresUsageStore(pool, pgConfig, config), migration };
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw failClosed(err, 'usage_unavailable', `the usage store at ${redactUrl(pgConfig.url)} could not be opened: ${(err as Error).message}`);
    }
  }

  /** The ledger whose decisions this replica reserves for (its reservations are reconciled against it). */
  attach(ledgerId: string, signer?: RowSigner): void {
    this.ledgerId = ledgerId;
    this.signer = signer;
  }

  /**
   * Deletes this replica's reservations that its ledger never recorded (it stopped between
   * reserving and appending). Run once at start, before any decision.
   */
  async reconcile(recorded: (decisionId: string) => boolean): Promise<number> {
    const rows = await this.pool.query<{ decision_id: string }>(`SELECT decision_id FROM gavel_usage_charges WHERE ledger_id = $1 AND state = 'reserved'`, [
      this.ledgerId,
    ]);
    const orphaned = rows.rows.map((r) => r.decision_id).filter((id) => !recorded(id));
    if (orphaned.length > 0) {
      await this.pool.query(`DELETE FROM gavel_usage_charges WHERE decision_id = ANY($1::text[]) AND state = 'reserved'`, [orphaned]);
      await this.bumpHistories(orphaned);
      await this.pool.query(`DELETE FROM gavel_usage_requests WHERE decision_id = ANY($1::text[])`, [orphaned]);
    }
    return orphaned.length;
  }

  async usage(scope: Scope, key: string, nowMs: number, excluding?: string): Promise<ScopeUsage> {
    return this.guard(async () => {
      const { fetched } = await this.fetch(this.pool, [[scope, key]], undefined, nowMs, excluding);
      return this.scopeOf(fetched, scope, key);
    });
  }

  async history(subject: string, nowMs: number): Promise<History> {
    return this.guard(async () => (await this.fetch(this.pool, [], subject, nowMs, undefined)).fetched.history!);
  }

  /**
   * A decision's transaction, while its keys are held: BEGIN and the locks as one batch of
   * statements, the reads as three prepared statements, then the rows and COMMIT as one batch
   * (batches inline their values as escaped literals, which is what lets statements travel together).
   */
  async read(keys: string[]): Promise<UsageRead> {
    // Locked in key order by the statement itself (ORDER BY key), so no two transactions deadlock.
    const rowKeys = [...new Set(keys.map(rowKey))];
    const scopes: Array<[Scope, string]> = [];
    let subject: string | undefined;
    for (const k of rowKeys) {
      const [kind, value] = splitKey(k);
      if (kind === 'history') subject = value;
      else scopes.push([kind, value]);
    }
    const client = await this.guard(async () => {
      await this.ensureKeys(rowKeys);
      return this.connect();
    });
    let open = true;
    let begun = false;
    const end = (err?: unknown) => {
      if (!open) return;
      open = false;
      if (err || !begun) {
        client.release(err as Error | undefined);
        return;
      }
      client.query('ROLLBACK').then(
        () => client.release(),
        (e: Error) => client.release(e),
      );
    };
    // The first statements of the transaction: take the keys' rows, in key order.
    const head = (): string[] => {
      if (begun) return [];
      begun = true;
      return ['BEGIN', `SELECT key, seq, gen FROM gavel_usage_keys WHERE key = ANY(${texts(rowKeys)}) ORDER BY key FOR UPDATE`];
    };
    const checkLocked = (locked: pg.QueryResult | undefined) => {
      if (locked && locked.rowCount !== rowKeys.length) {
        this.known.clear();
        throw new GavelError('usage_unavailable', 'usage key rows are missing from the usage store (were its tables emptied?); failing closed');
      }
    };
    // The subject's history key row as locked: its request rows' numbering (history-cache.ts).
    let historyRow: HistoryRow | undefined;
    const historyKey = subject === undefined ? undefined : `history:${subject}`;
    let fetched: Promise<Fetched> | undefined;
    let fetchedAt: { nowMs: number; excluding: string | undefined } | undefined;
    const fetchOnce = (nowMs: number, excluding: string | undefined) => {
      if (!fetched || fetchedAt?.nowMs !== nowMs || fetchedAt.excluding !== excluding) {
        fetchedAt = { nowMs, excluding };
        const before = head();
        fetched = this.guard(async () => {
          const { results, fetched: f } = await this.fetch(client, scopes, undefined, nowMs, excluding, before);
          // The lock's rows (results[1]: after BEGIN); none when an earlier read of this transaction took the lock.
          const locked = results[1];
          checkLocked(locked);
          const row = locked?.rows.find((r: { key: string }) => r.key === historyKey) as { seq: string; gen: string } | undefined;
          if (row) historyRow = { seq: Number(row.seq), gen: Number(row.gen) };
          if (subject !== undefined) f.history = await this.histories.read(client, subject, nowMs, historyRow);
          return f;
        });
      }
      return fetched;
    };
    return {
      usage: async (scope, key, nowMs, excluding) => this.scopeOf(await fetchOnce(nowMs, excluding), scope, key),
      history: async (who, nowMs) => {
        const f = await fetchOnce(nowMs, fetchedAt?.excluding);
        if (who !== subject || !f.history) throw new Error(`history of ${who} was not part of this read`);
        return f.history;
      },
      stage: async (rows) => {
        if (!open) throw new Error('this usage read has ended');
        // Receipts of earlier claims ride along with this commit.
        let receipts: ReturnType<PostgresUsageStore['takeReceipts']>;
        try {
          // Keys not locked by a read yet (the meter always reads first): locked and checked before anything is written.
          const before = head();
          if (before.length > 0) checkLocked((await this.guard(() => this.batch(client, before)))[1]);
          receipts = this.takeReceipts();
          await this.guard(() => this.batch(client, [...this.rowStatements(rows), ...(receipts ? [receipts.statement] : []), 'COMMIT']));
        } catch (err) {
          this.putBack(receipts?.taken);
          this.claimed.delete(rows.request.decisionId);
          // Another replica changed the approval this decision changes: nothing was written; decide again on what is there now.
          if (rows.approval && approvalRowChanged(err)) {
            end();
            return undefined;
          }
          end(err);
          if (rows.claim && isClaimTaken(err)) throw inProgress(rows.claim);
          throw err;
        }
        open = false;
        client.release();
        // Numbered under the lock: the next after the row's number as read.
        if (historyRow && rows.request.subject === subject) this.histories.committed(rows.request, historyRow.seq + 1);
        return this.committed(rows);
      },
      end: () => end(),
    };
  }

  /** A decision's request row and reservation, as statements. */
  private rowStatements(rows: StagedUsage): string[] {
    const r = rows.request;
    // Numbered in the subject's history key row, which this transaction holds locked (history-cache.ts).
    const key = text(`history:${r.subject}`);
    const out = [
      `UPDATE gavel_usage_keys SET seq = seq + 1 WHERE key = ${key}`,
      `INSERT INTO gavel_usage_requests (decision_id, subject, tool, decision, at_ms, subject_seq)
       VALUES (${text(r.decisionId)}, ${text(r.subject)}, ${text(r.tool)}, ${text(r.decision)}, ${int(r.atMs)},
         (SELECT seq FROM gavel_usage_keys WHERE key = ${key})) ON CONFLICT DO NOTHING`,
    ];
    const c = rows.reservation;
    if (c) {
      const values = chargeLiterals({ ...c, state: 'reserved', ledgerId: this.ledgerId });
      out.push(`INSERT INTO gavel_usage_charges (${CHARGE_NAMES}) VALUES (${values})`);
    }
    const claim = rows.claim;
    if (claim) {
      // A claim outside the window no longer holds the id; one inside it (committed, or in another replica's open
      // transaction: the insert waits for it) fails this insert on the key, and with it the whole transaction.
      const key = `caller = ${text(claim.caller)} AND request_id = ${text(claim.requestId)}`;
      out.push(
        `DELETE FROM gavel_request_ids WHERE ${key} AND at_ms < ${int(claim.sinceMs)}`,
        `INSERT INTO gavel_request_ids (caller, request_id, decision_id, ledger_id, at_ms, answer)
         VALUES (${text(claim.caller)}, ${text(claim.requestId)}, ${text(r.decisionId)}, ${text(this.ledgerId)}, ${int(r.atMs)}, ${text(this.claimedAnswer(r, claim))})`,
      );
    }
    // The decision's approval change (a new request, an approval used), conditional on the row it read.
    if (rows.approval) out.push(...rows.approval.statements);
    return out;
  }

  /** A claim's answer, kept until its receipt is noted (and the row signed with it). */
  private claimedAnswer(r: RequestRow, claim: RequestClaim): string {
    const answer = claim.answer();
    this.claimed.set(r.decisionId, { answer, atMs: r.atMs });
    return answer;
  }

  /** Several statements in one round trip; one result per statement. */
  private async batch(q: pg.Pool | pg.PoolClient, statements: string[]): Promise<pg.QueryResult[]> {
    const res = (await q.query(statements.join(';\n'))) as pg.QueryResult | pg.QueryResult[];
    return Array.isArray(res) ? res : [res];
  }

  /** Rows already committed: nothing to write with the entry, and taken back if the entry is given up. */
  private committed(rows: StagedUsage): StagedWrite {
    return {
      writes: [],
      finish: (recorded) => {
        if (recorded) return;
        this.claimed.delete(rows.request.decisionId);
        void this.takeBack(rows.request.decisionId);
        if (rows.claim) void this.dropClaim({ caller: rows.claim.caller, requestId: rows.claim.requestId, decisionId: rows.request.decisionId });
      },
    };
  }

  /** A decision's unsettled reservation, and for a take-back its request row and request id claim too. */
  private async deleteRows(decisionId: string, what: 'take back' | 'release'): Promise<void> {
    await this.pool.query(`DELETE FROM gavel_usage_charges WHERE decision_id = $1 AND state = 'reserved'`, [decisionId]);
    if (what === 'take back') {
      await this.bumpHistories([decisionId]);
      await this.pool.query('DELETE FROM gavel_usage_requests WHERE decision_id = $1', [decisionId]);
    }
  }

  /** The subjects of these decisions' request rows, about to be deleted or rewritten: every replica's log of them is loaded again. */
  private async bumpHistories(decisionIds: string[], q: pg.Pool | pg.PoolClient = this.pool): Promise<void> {
    await q.query(
      `UPDATE gavel_usage_keys SET gen = gen + 1 WHERE key IN (SELECT 'history:' || subject FROM gavel_usage_requests WHERE decision_id = ANY($1::text[]))`,
      [decisionIds],
    );
  }

  /**
   * Noted with the next decision's rows (no round trip of its own under load), or within RECEIPT_FLUSH_MS when
   * none comes; until then other replicas answer this id request_in_progress, and a retry gets the answer later.
   */
  requestRecorded(claim: RequestClaim, decisionId: string, receipt: Receipt): void {
    const row = this.claimed.get(decisionId);
    this.claimed.delete(decisionId);
    const sig =
      row && this.signer
        ? this.signer.sign(requestRowBody({ caller: claim.caller, requestId: claim.requestId, decisionId, ledgerId: this.ledgerId, ...row, receipt }))
        : '';
    this.receipts.set(decisionId, { caller: claim.caller, requestId: claim.requestId, decisionId, receipt, sig });
    this.receiptTimer ??= setTimeout(() => {
      this.receiptTimer = undefined;
      void this.flushReceipts();
    }, RECEIPT_FLUSH_MS);
  }

  /** The receipts waiting, as one statement (taken from the queue: put them back if it fails). */
  private takeReceipts(): { statement: string; taken: ClaimReceipt[] } | undefined {
    if (this.receipts.size === 0) return undefined;
    const taken = [...this.receipts.values()];
    this.receipts.clear();
    const values = taken.map(
      (r) =>
        `(${text(r.caller)}, ${text(r.requestId)}, ${text(r.decisionId)}, ${int(r.receipt.seq)}::bigint, ${text(r.receipt.entryHash)}, ${r.sig ? text(r.sig) : 'NULL'})`,
    );
    return {
      statement: `UPDATE gavel_request_ids AS r SET seq = v.seq, entry_hash = v.entry_hash, sig = v.sig
        FROM (VALUES ${values.join(', ')}) AS v(caller, request_id, decision_id, seq, entry_hash, sig)
        WHERE r.caller = v.caller AND r.request_id = v.request_id AND r.decision_id = v.decision_id`,
      taken,
    };
  }

  private putBack(taken: ClaimReceipt[] | undefined): void {
    for (const r of taken ?? []) if (!this.receipts.has(r.decisionId)) this.receipts.set(r.decisionId, r);
  }

  private async flushReceipts(): Promise<void> {
    const t = this.takeReceipts();
    if (!t) return;
    try {
      await this.pool.query(t.statement);
    } catch (err) {
      // Retried with the next decision's rows or the next prune.
      this.putBack(t.taken);
      if (isDown(err)) this.failed(err);
    }
  }

  /** A claim whose entry was given up: the id is free again (retried with the prune until it goes). */
  private async dropClaim(c: { caller: string; requestId: string; decisionId: string }): Promise<void> {
    try {
      await this.pool.query('DELETE FROM gavel_request_ids WHERE caller = $1 AND request_id = $2 AND decision_id = $3', [c.caller, c.requestId, c.decisionId]);
      this.droppedClaims.delete(c.decisionId);
    } catch (err) {
      this.droppedClaims.set(c.decisionId, c);
      if (isDown(err)) this.failed(err);
    }
  }

  async findRequest(caller: string, requestId: string, sinceMs: number): Promise<RecordedRequest | undefined> {
    const rows = await this.guard(() =>
      this.pool.query<{
        decision_id: string;
        ledger_id: string;
        at_ms: string;
        answer: string;
        seq: string | null;
        entry_hash: string | null;
        sig: string | null;
      }>('SELECT decision_id, ledger_id, at_ms, answer, seq, entry_hash, sig FROM gavel_request_ids WHERE caller = $1 AND request_id = $2 AND at_ms >= $3', [
        caller,
        requestId,
        sinceMs,
      ]),
    );
    const row = rows.rows[0];
    if (!row) return undefined;
    if (row.seq === null || row.entry_hash === null) throw inProgress({ caller, requestId });
    const receipt = { seq: Number(row.seq), entryHash: row.entry_hash };
    if (this.signer) {
      const body = requestRowBody({
        caller,
        requestId,
        decisionId: row.decision_id,
        ledgerId: row.ledger_id,
        atMs: Number(row.at_ms),
        answer: row.answer,
        receipt,
      });
      // An answer no known replica vouches for is not given: fail closed rather than tell a retry what an edited row says.
      if (!row.sig || !this.signer.verify(row.ledger_id, body, row.sig)) {
        throw new GavelError(
          'usage_unavailable',
          `the shared store's answer for request_id ${JSON.stringify(requestId)} is not signed by a known replica (changed outside gavel, or its replica's --peer-key is not configured here); failing closed`,
        );
      }
    }
    const answer = JSON.parse(row.answer) as Omit<RecordedRequest, 'receipt'>;
    return { ...answer, receipt };
  }

  /**
   * This replica's request id claims without a receipt (it stopped between claiming and noting it):
   * those its ledger recorded get their receipt, the others are dropped. Run once at start.
   */
  async reconcileRequests(receiptOf: (decisionId: string) => Receipt | undefined): Promise<number> {
    const rows = await this.pool.query<{ caller: string; request_id: string; decision_id: string; at_ms: string; answer: string }>(
      'SELECT caller, request_id, decision_id, at_ms, answer FROM gavel_request_ids WHERE ledger_id = $1 AND seq IS NULL',
      [this.ledgerId],
    );
    for (const r of rows.rows) {
      const receipt = receiptOf(r.decision_id);
      const key = [r.caller, r.request_id, r.decision_id];
      if (receipt) {
        const body = requestRowBody({
          caller: r.caller,
          requestId: r.request_id,
          decisionId: r.decision_id,
          ledgerId: this.ledgerId,
          atMs: Number(r.at_ms),
          answer: r.answer,
          receipt,
        });
        await this.pool.query('UPDATE gavel_request_ids SET seq = $4, entry_hash = $5, sig = $6 WHERE caller = $1 AND request_id = $2 AND decision_id = $3', [
          ...key,
          receipt.seq,
          receipt.entryHash,
          this.signer ? this.signer.sign(body) : null,
        ]);
      } else await this.pool.query('DELETE FROM gavel_request_ids WHERE caller = $1 AND request_id = $2 AND decision_id = $3', key);
    }
    return rows.rows.length;
  }

  private async takeBack(decisionId: string, what: 'take back' | 'release' = 'take back'): Promise<void> {
    try {
      await this.deleteRows(decisionId, what);
      this.pending.delete(decisionId);
    } catch (err) {
      // Kept until it goes; meanwhile it expires at its TTL like any unreported reservation.
      this.pending.set(decisionId, what);
      if (isDown(err)) this.failed(err);
    }
  }

  private async retryPending(): Promise<void> {
    for (const [id, what] of [...this.pending]) await this.takeBack(id, what);
    for (const c of [...this.droppedClaims.values()]) await this.dropClaim(c);
    await this.flushReceipts();
  }

  async charge(decisionId: string): Promise<ChargeRow | undefined> {
    return this.guard(async () => {
      const res = await this.pool.query('SELECT * FROM gavel_usage_charges WHERE decision_id = $1', [decisionId]);
      return res.rows[0] ? chargeRowOf(res.rows[0]) : undefined;
    });
  }

  /** A release that fails is retried until it goes (meanwhile the reservation counts, to its expiry at most). */
  async release(decisionId: string): Promise<void> {
    try {
      await this.guard(() => this.deleteRows(decisionId, 'release'));
    } catch (err) {
      this.pending.set(decisionId, 'release');
      throw err;
    }
  }

  /** After the entry commits: the database is not in the ledger's transaction (a failed delete is retried). */
  stagedRelease(decisionId: string): StagedWrite {
    return {
      writes: [],
      finish: (committed) => {
        if (committed) void this.takeBack(decisionId, 'release');
      },
    };
  }

  /**
   * Locks the charge, then its budgets' key rows (as a decision does), so no decision reads totals
   * mid-settlement: two round trips, the second holding the keys only while it runs.
   */
  async settle(s: Settlement, record: SettlementRecorder): Promise<SettleResult> {
    const client = await this.guard(() => this.connect());
    let broken: unknown;
    try {
      return await this.guard(async () => {
        const [, found] = await this.batch(client, ['BEGIN', `SELECT * FROM gavel_usage_charges WHERE decision_id = ${text(s.decisionId)} FOR UPDATE`]);
        const existing = found?.rows[0] ? chargeRowOf(found.rows[0]) : undefined;
        const result = settlementOf(existing, s);
        if (result.kind !== 'settled' || !existing) {
          await client.query('ROLLBACK');
          return result;
        }
        const tokens = s.inputTokens + s.outputTokens;
        await this.batch(client, [
          `SELECT key FROM gavel_usage_keys WHERE key = ANY(${texts(scopeKeys(existing).map(rowKey))}) ORDER BY key FOR UPDATE`,
          `UPDATE gavel_usage_charges SET state = 'settled', tokens = ${int(tokens)}, cost_micros = ${int(s.costMicros)},
             input_tokens = ${int(s.inputTokens)}, output_tokens = ${int(s.outputTokens)}, model = ${text(s.model)}, tier = ${text(s.tier)},
             expires_ms = NULL WHERE decision_id = ${text(s.decisionId)}`,
          ...this.bucketStatements({ ...existing, tier: s.tier, tokens, costMicros: s.costMicros }),
        ]);
        // The entry first, while this transaction holds the charge: no entry, no settlement. (A COMMIT
        // that fails after it leaves an entry whose settlement a retry writes again: the last one counts.)
        try {
          await record(existing, { writes: [], finish: () => undefined });
        } catch (err) {
          // Rolled back before the caller hears of it, so a retry finds the charge free at once.
          await client.query('ROLLBACK');
          throw err;
        }
        await client.query('COMMIT');
        return result;
      });
    } catch (err) {
      broken = err;
      throw err;
    } finally {
      client.release(broken as Error | undefined);
    }
  }

  /** A settled charge added to the daily and per-minute buckets of every scope it counts against. */
  private bucketStatements(c: ChargeRow): string[] {
    const day = text(localDay(c.atMs, this.config.timeZone));
    const minute = int(Math.floor(c.atMs / 60_000));
    return [
      ['gavel_usage_daily', 'day', day],
      ['gavel_usage_minute', 'minute', minute],
    ].map(([table, column, at]) => {
      const values = scopesOf(c).map(([scope, key]) => `(${text(scope)}, ${text(key)}, ${text(c.tier)}, ${at}, ${int(c.tokens)}, ${int(c.costMicros)})`);
      return `INSERT INTO ${table} (scope, key, tier, ${column}, tokens, cost_micros) VALUES ${values.join(', ')}
        ON CONFLICT (scope, key, ${column}, tier) DO UPDATE
        SET tokens = ${table}.tokens + excluded.tokens, cost_micros = ${table}.cost_micros + excluded.cost_micros`;
    });
  }

  /**
   * The approval requests in this store (approvals.ts), on its pool and failing closed as it does; once
   * per store. Bound to this replica's ledger (attach first): the rows it changes name it.
   */
  approvals(o: Omit<SharedApprovalsOptions, 'guard' | 'ledgerId' | 'signer' | 'connect'>): PostgresApprovalStore {
    if (this.approvalStore) throw new Error('the shared approval store is already open');
    if (this.ledgerId === '' || !this.signer) throw new Error('attach the ledger and its signer before opening shared approvals');
    this.approvalStore = new PostgresApprovalStore(this.pool, {
      ...o,
      signer: this.signer,
      ledgerId: this.ledgerId,
      guard: (step) => this.guard(step),
      connect: () => new pg.Client(poolOptions(this.pg)),
    });
    return this.approvalStore;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.approvalStore?.close();
    clearInterval(this.prune);
    clearTimeout(this.receiptTimer);
    this.health.stop();
    await this.retryPending().catch(() => undefined);
    await this.pool.end();
  }

  /**
   * Settled buckets, live reservations and (for a subject) request history, after `before` (the
   * transaction's BEGIN and locks, as one batch). The reads are prepared statements: the database
   * plans each once per connection, which costs more than running it.
   */
  private async fetch(
    q: pg.Pool | pg.PoolClient,
    scopes: Array<[Scope, string]>,
    subject: string | undefined,
    nowMs: number,
    excluding: string | undefined,
    before: string[] = [],
  ): Promise<{ results: pg.QueryResult[]; fetched: Fetched }> {
    const results = before.length > 0 ? await this.batch(q, before) : [];
    const starts = windowStarts(new Date(nowMs), this.config.timeZone, this.config.rollingMinutes);
    const b = bucketKeysAt(starts, nowMs, this.config.timeZone);
    const fetched: Fetched = { settled: [], reserved: [], history: undefined };
    if (scopes.length > 0) {
      const kinds = scopes.map(([scope]) => scope);
      const keys = scopes.map(([, key]) => key);
      const settled = await q.query({ name: 'gavel_usage_settled', text: SETTLED, values: [kinds, keys, b.day, b.week, b.month, b.lower, b.today, b.rolling] });
      const reserved = await q.query({
        name: 'gavel_usage_reserved',
        text: RESERVED,
        values: [kinds, keys, nowMs, excluding ?? null, starts.day, starts.week, starts.month, starts.rolling],
      });
      fetched.settled = settled.rows as Fetched['settled'];
      fetched.reserved = reserved.rows as Fetched['reserved'];
    }
    if (subject !== undefined) fetched.history = await fromTable(q, subject, nowMs);
    return { results, fetched };
  }

  private scopeOf(f: Fetched, scope: Scope, key: string): ScopeUsage {
    const mine = (r: { scope: string; key: string }) => r.scope === scope && r.key === key;
    return scopeUsage(f.settled.filter(mine), f.reserved.filter(mine));
  }

  /** Rows for keys never seen, committed before any transaction locks them (a key row is never deleted). */
  private async ensureKeys(keys: string[]): Promise<void> {
    const missing = keys.filter((k) => !this.known.has(k));
    if (missing.length === 0) return;
    await this.pool.query('INSERT INTO gavel_usage_keys (key) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING', [missing]);
    // Bounded: many distinct subjects cost a re-insert now and then, never unbounded memory.
    if (this.known.size + missing.length > MAX_KNOWN_KEYS) this.known.clear();
    for (const k of missing) this.known.add(k);
  }

  private async connect(): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    if (!this.watched.has(client)) {
      this.watched.add(client);
      // A connection that breaks while checked out (mid-decision) must not crash the process.
      client.on('error', (err) => this.failed(err));
    }
    return client;
  }

  /**
   * The shared rows a replica's state check compares with its chain (state/shared.ts): the charges
   * with these ids, every charge settled since `since.ms` (to sum the buckets again), and the daily
   * and minute buckets from `since.day` and `since.minute` on.
   */
  async stateRows(decisionIds: string[], since: SharedSince): Promise<SharedStateRows> {
    return this.guard(async () => {
      const charges = await this.pool.query('SELECT * FROM gavel_usage_charges WHERE decision_id = ANY($1::text[])', [decisionIds]);
      const settled = await this.pool.query(`SELECT * FROM gavel_usage_charges WHERE state = 'settled' AND at_ms >= $1`, [since.ms]);
      const daily = await this.pool.query('SELECT scope, key, tier, day AS at, tokens, cost_micros FROM gavel_usage_daily WHERE day >= $1', [since.day]);
      const minute = await this.pool.query('SELECT scope, key, tier, minute AS at, tokens, cost_micros FROM gavel_usage_minute WHERE minute >= $1', [
        since.minute,
      ]);
      const bucket = (r: Record<string, unknown>) => ({
        scope: String(r.scope),
        key: String(r.key),
        tier: String(r.tier),
        at: typeof r.at === 'string' && /^\d+$/.test(r.at) ? Number(r.at) : (r.at as string | number),
        tokens: Number(r.tokens),
        cost_micros: Number(r.cost_micros),
      });
      const requests = await this.pool.query(
        'SELECT decision_id, subject, tool, decision, at_ms FROM gavel_usage_requests WHERE decision_id = ANY($1::text[])',
        [decisionIds],
      );
      const request = (r: Record<string, unknown>) => ({
        decisionId: String(r.decision_id),
        subject: String(r.subject),
        tool: String(r.tool),
        decision: String(r.decision),
        atMs: Number(r.at_ms),
      });
      return {
        charges: charges.rows.map(sharedChargeOf),
        settled: settled.rows.map(sharedChargeOf),
        daily: daily.rows.map(bucket),
        minute: minute.rows.map(bucket),
        requests: requests.rows.map(request),
      };
    });
  }

  /**
   * Writes back what the chains add up to (gavel serve --rebuild-state): these charges as the chain
   * has them, and the buckets from `since` on as the settled charges sum them. One transaction.
   */
  async repairState(
    charges: SharedCharge[],
    buckets: { daily: SharedBucket[]; minute: SharedBucket[] },
    since: SharedSince,
    requests: RequestRow[],
  ): Promise<void> {
    await this.guard(async () => {
      const client = await this.connect();
      try {
        await client.query('BEGIN');
        for (const c of charges) {
          // The shared store keeps who asked on every row: a baseline charge from before it was kept has none.
          await client.query(UPSERT_CHARGE, chargeValues({ ...c, caller: c.caller ?? '', askedModel: c.askedModel ?? c.model }, 'shared'));
        }
        // Rows written back are not numbered: every replica's log of their subjects is loaded again.
        if (requests.length > 0) {
          await client.query(`UPDATE gavel_usage_keys SET gen = gen + 1 WHERE key = ANY($1::text[])`, [
            [...new Set(requests.map((r) => `history:${r.subject}`))],
          ]);
        }
        for (const r of requests) {
          await client.query(
            `INSERT INTO gavel_usage_requests (decision_id, subject, tool, decision, at_ms) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (decision_id) DO UPDATE SET subject = excluded.subject, tool = excluded.tool, decision = excluded.decision, at_ms = excluded.at_ms`,
            [r.decisionId, r.subject, r.tool, r.decision, r.atMs],
          );
        }
        for (const [table, column, rows, from] of [
          ['gavel_usage_daily', 'day', buckets.daily, since.day],
          ['gavel_usage_minute', 'minute', buckets.minute, since.minute],
        ] as const) {
          await client.query(`DELETE FROM ${table} WHERE ${column} >= $1`, [from]);
          for (const b of rows) {
            await client.query(`INSERT INTO ${table} (scope, key, tier, ${column}, tokens, cost_micros) VALUES ($1, $2, $3, $4, $5, $6)`, [
              b.scope,
              b.key,
              b.tier,
              b.at,
              b.tokens,
              b.cost_micros,
            ]);
          }
        }
        await client.query('COMMIT');
        this.known.clear();
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    });
  }

  /** Deletes what no read counts any more: request rows past the hour, minute buckets past two rolling windows, long-expired reservations. */
  async pruneOld(nowMs: number): Promise<void> {
    if (!this.health.ok) return;
    await this.pool.query('DELETE FROM gavel_usage_requests WHERE at_ms < $1', [nowMs - 2 * HOUR]);
    await this.pool.query('DELETE FROM gavel_usage_minute WHERE minute < $1', [Math.floor((nowMs - 2 * this.config.rollingMinutes * 60_000) / 60_000)]);
    await this.pool.query(`DELETE FROM gavel_usage_charges WHERE state = 'reserved' AND expires_ms < $1`, [nowMs - EXPIRED_GRACE_MS]);
    await this.pool.query('DELETE FROM gavel_request_ids WHERE at_ms < $1', [nowMs - MAX_IDEMPOTENCY_WINDOW_SECONDS * 1000]);
    await this.retryPending();
  }

  /** Fails closed at once while the database is known to be down (health probes it back). */
  private available(): void {
    if (this.closed) throw new GavelError('usage_unavailable', 'the usage store is closed; failing closed');
    if (!this.health.ok) throw new GavelError('usage_unavailable', `the usage store is unavailable (${this.health.reason}); failing closed`);
  }

  /** Runs a step; a database failure becomes usage_unavailable, and marks the store down when the database is gone. */
  private async guard<T>(step: () => Promise<T>): Promise<T> {
    this.available();
    try {
      return await step();
    } catch (err) {
      if (!(err instanceof GavelError) && (isDown(err) || schemaFailure(err))) this.failed(err);
      const what = isContention(err)
        ? 'a budget stayed locked past the deadline'
        : isDown(err)
          ? 'the usage store could not be reached in time'
          : 'the usage store refused a step';
      throw failClosed(err, 'usage_unavailable', `${what} (${errorMessage(err)}); failing closed`);
    }
  }

  private failed(err: unknown): void {
    if (this.closed) return;
    this.health.failed(`usage store ${redactUrl(this.pg.url)}: ${schemaFailure(err) ?? (err as Error).message}`);
  }
}

function poolOptions(c: PostgresUsageConfig): pg.PoolConfig {
  return {
    connectionString: c.url,
    max: c.poolSize,
    connectionTimeoutMillis: c.timeoutMs,
    // The server's own limits answer first (a lock wait is a busy budget, not a database down);
    // the client's limit is the backstop for a server that stopped answering at all.
    lock_timeout: c.timeoutMs,
    statement_timeout: c.timeoutMs + 250,
    query_timeout: c.timeoutMs + 1000,
    idle_in_transaction_session_timeout: c.idleTransactionMs,
    application_name: 'gavel',
  };
}

/** All replicas must bucket days in one time zone: the first to start records it, the others must match. */
async function checkTimeZone(pool: pg.Pool, timeZone: string): Promise<void> {
  await pool.query(`INSERT INTO gavel_usage_meta (key, value) VALUES ('time_zone', $1) ON CONFLICT DO NOTHING`, [timeZone]);
  const res = await pool.query<{ value: string }>(`SELECT value FROM gavel_usage_meta WHERE key = 'time_zone'`);
  const recorded = res.rows[0]?.value;
  if (recorded !== timeZone) {
    throw new GavelError(
      'config_invalid',
      `the usage store keeps its days in time zone ${recorded}, this replica is configured for ${timeZone}: every replica must use the same --time-zone`,
    );
  }
}

/**
 * A usage key as a row key: PostgreSQL text holds no NUL, so the scope's separator becomes ':'
 * (still one key per scope and value: scopes are fixed names without ':').
 */
function rowKey(k: string): string {
  return k.replace('\u0000', ':');
}

function splitKey(k: string): ['history', string] | [Scope, string] {
  const at = k.indexOf(':');
  return [k.slice(0, at) as 'history' | Scope, k.slice(at + 1)] as ['history', string] | [Scope, string];
}
