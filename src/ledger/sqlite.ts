import { sign } from 'node:crypto';
import Database from 'better-sqlite3';
import { errorMessage, failClosed, GavelError } from '../lib/errors.js';
import { ledgerOrigin, signCheckpoint, type Checkpoint } from './checkpoint.js';
import { defaultKeyPath, type LedgerConfig } from './config.js';
import { canonicalPayload, entryHashes, entryLeafHash, GENESIS_HASH, headerText, payloadHash } from './hash.js';
import { storeBody, type StoredBody } from './payload-body.js';
import { rootOf, type Hash } from './merkle.js';
import { MerkleStore, storedCount } from './merkle-store.js';
import { checkRecordColumns, HEADER_VERSION, headerOfRow, insertEntrySql, recordColumns, type ChainHeader, type EntryRow } from './header.js';
import { ephemeralKey, loadOrCreateKey, type SigningKey } from './keys.js';
import { checkKeyMatchesLedger, type FileIdentity, fileChanged, fileIdentity, recordedWriterPid } from './file-identity.js';
import { ensureLedgerId, latestCheckpointNote } from './meta.js';
import { WalCheckpointer } from './wal-checkpointer.js';
import { syncWal } from './wal-sync.js';
import { notWritable, WriterLock } from './writer-lock.js';
import { registerWriter } from './write-protect.js';
import { policyStatus, type PolicyStatus } from './policy-status.js';
import { ERASING_FUNCTION, migrate } from './schema.js';
import { hasTable } from '../lib/sqlite-schema.js';
import { UNRECORDED, type EntryRecord, type Receipt, type RowResult, type RowWrite, type StagedWrite } from '../engine/ledger.js';
import { RowWriter } from './row-writes.js';
import type { LedgerHealth, ServedLedger } from './types.js';

export type { LedgerHealth } from './types.js';
import { formatVerifierKey, verifierOf } from './keys.js';
import { findRequestEntry, getEntry, queryEntries, type EntryDetail, type EntrySummary, type QueryFilter } from './query.js';
import { checkErasureRequest, erasableSeqs, erasureRecord, seqRanges, type ErasureRequest, type ErasureResult } from './erasure.js';
import { verifyLedger, verifyLedgerFile, type VerifyOptions, type VerifyReport } from './verify.js';

interface Pending {
  record: EntryRecord;
  staged: StagedWrite | undefined;
  /** A synchronous caller's own writes in the entry's transaction (appendNow: a state rebuild at start). */
  alsoWrite?: () => void;
  /** Set by `erase` alone: this entry's writes may delete payloads (whatever a record's kind says). */
  erasure?: true;
  /** What the staged write's rows did, in the transaction that committed (handed to its finish). */
  results?: RowResult[];
  /** The staged write's records, chained right after this one (prepared with it). */
  extra?: PreparedEntry[];
  resolve: (receipt: Receipt) => void;
  reject: (err: unknown) => void;
}

/**
 * Fault injection for tests, passed in at construction (never reachable from the
 * wire): each hook may throw to simulate a failing statement or COMMIT.
 */
/** One erasure entry lists at most this many seqs; a retention sweep erases the rest in the next entries. */
const MAX_ERASED_PER_ENTRY = 10_000;

export interface LedgerFaults {
  /** Before an entry's rows are inserted, inside the batch transaction. */
  beforeInsert?(record: EntryRecord): void;
  /** Just before COMMIT of a batch of `size` entries. */
  beforeCommit?(size: number): void;
  /** In place of the WAL fsync a periodic checkpoint waits for (wal-sync.ts). */
  syncWal?(path: string): Promise<void>;
}

/** An entry with everything but its place in the chain worked out. */
interface PreparedEntry {
  header: Omit<ChainHeader, 'seq' | 'prev_hash'>;
  /** The payload as stored (payload-body.ts): made before the transaction, so the deflate is not inside it. */
  body: StoredBody;
  salt: Buffer;
  timeMs: number;
}

function prepareEntry(r: EntryRecord): PreparedEntry {
  if (r.payloadJcs === undefined && r.payload === undefined) throw new Error(`record ${r.decisionId} has no payload`);
  const body = r.payloadJcs ?? canonicalPayload(r.payload!);
  const timeMs = Date.parse(r.time);
  if (!Number.isFinite(timeMs)) throw new Error(`record time ${r.time} is not a time`);
  const columns = recordColumns(r);
  // The header must hash too; checking its fields here keeps a bad one out of the batch.
  checkRecordColumns(columns);
  const header = { v: HEADER_VERSION, ...columns, payload_hash: payloadHash(r.salt, body) };
  return { header, body: storeBody(header.kind, body, r.payloadHead), salt: Buffer.from(r.salt), timeMs };
}

/** The chain's head: its size and last hash, and the Merkle tree's frontier at that size (merkle.ts). */
type Head = { seq: number; hash: string; frontier: Hash[] };

interface BatchOutcome {
  written: Array<{ pending: Pending; receipt: Receipt }>;
  refused: Array<{ pending: Pending; err: unknown }>;
  head: Head;
}

/** Transaction control as prepared statements: parsed once, not on every batch and entry. */
interface TxStatements {
  begin: Database.Statement;
  commit: Database.Statement;
  rollback: Database.Statement;
  savepoint: Database.Statement;
  release: Database.Statement;
  rollbackTo: Database.Statement;
}

function settleFailed(pending: Pending, err: unknown): void {
  try {
    pending.staged?.finish(false, []);
  } finally {
    pending.reject(failClosed(err, 'ledger_unavailable', UNRECORDED));
  }
}

/** Committed: the staged write hears of it, then the caller gets its receipt, even if the former throws. */
function settleWritten(pending: Pending, receipt: Receipt): void {
  try {
    pending.staged?.finish(true, pending.results ?? []);
  } catch {
    // A staged write's bookkeeping failed after COMMIT; the entry is durable, so the caller is still answered.
  } finally {
    pending.resolve(receipt);
  }
}

/** Opens the writer's connection; the file's folder is there already (the writer lock beside it made it). */
export function openDatabase({ path, durability, busyTimeoutMs, pageSize }: LedgerConfig): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path);
    // Takes effect on a new file alone: an existing one keeps the page size it was made with.
    db.pragma(`page_size = ${pageSize}`);
    db.pragma('journal_mode = WAL');
  } catch (err) {
    throw notWritable(path, err);
  }
  db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  // Keep planner statistics current so combined audit filters pick the most selective index.
  db.pragma('optimize = 0x10002');
  return db;
}

/**
 * The embedded ledger. Appends queue up and are written by one group commit per
 * event-loop turn (up to maxBatch per transaction); each caller's promise
 * settles only after its transaction commits, so no answer leaves unrecorded.
 */
export class SqliteLedger implements ServedLedger {
  readonly db: Database.Database;
  readonly origin: string;
  readonly key: SigningKey;
  private readonly config: LedgerConfig;
  private queue: Pending[] = [];
  private scheduled = false;
  private closed = false;
  private head: Head;
  private readonly tree: MerkleStore;
  /** Runs staged writes' rows in the entry's transaction. */
  private readonly rows: RowWriter;
  private lastCheckpointSize: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly insertEntry: Database.Statement;
  private readonly insertPayload: Database.Statement;
  private readonly tx: TxStatements;
  private readonly faults: LedgerFaults;
  private readonly lock: WriterLock | undefined;
  private readonly opened: FileIdentity | undefined;
  private fileTimer: NodeJS.Timeout | undefined;
  private checkpointer: WalCheckpointer | undefined;
  private lost: string | undefined;
  private failure: string | undefined;
  private readonly healthListeners = new Set<(health: LedgerHealth) => void>();
  private readonly checkpointListeners = new Set<(note: string, size: number) => void>();
  /** True only while an erasure entry's staged write deletes payloads (the payloads trigger asks). */
  private erasing = false;
  /** A periodic checkpoint waiting for its WAL fsync (checkpointIfBehind). */
  private syncing: Promise<void> | undefined;
  /** Erasures run one after another: each one's seqs are chosen from what the previous left. */
  private erasures: Promise<unknown> = Promise.resolve();

  constructor(config: LedgerConfig, deps: { faults?: LedgerFaults } = {}) {
    this.config = config;
    this.faults = deps.faults ?? {};
    const onDisk = config.path !== ':memory:';
    const keyPath = defaultKeyPath(config);
    // The lock first: a second writer must fail before it touches the file.
    this.lock = onDisk ? WriterLock.acquire(config.path, () => recordedWriterPid(config.path)) : undefined;
    try {
      if (onDisk && keyPath) checkKeyMatchesLedger(config.path, keyPath, config.newLedger);
      this.db = openDatabase(config);
      // Before any write: tables protected by an earlier run accept writes from this connection alone.
      registerWriter(this.db);
      this.db.function(ERASING_FUNCTION, { deterministic: false, varargs: false }, () => (this.erasing ? 1 : 0));
      migrate(this.db);
      this.origin = ledgerOrigin(ensureLedgerId(this.db));
      this.key = keyPath ? loadOrCreateKey(keyPath, this.origin) : ephemeralKey(this.origin);
      this.db.prepare(`INSERT OR IGNORE INTO meta(key, value) VALUES ('public_key', ?)`).run(this.key.publicKey.export({ type: 'spki', format: 'pem' }));
      this.db.prepare(`INSERT OR REPLACE INTO meta(key, value) VALUES ('writer_pid', ?)`).run(String(process.pid));
      this.opened = onDisk ? fileIdentity(config.path) : undefined;
      this.tree = new MerkleStore(this.db);
      this.rows = new RowWriter(this.db);
      this.growTree();
      this.head = this.readHead();
      if (onDisk) {
        this.db.pragma('wal_autocheckpoint = 0');
        // A WAL the checkpointer made the writer start over is cut back to this size by the next COMMIT.
        this.db.pragma(`journal_size_limit = ${config.walLimitBytes}`);
        this.checkpointer = new WalCheckpointer(config.path, config.walCheckpointMs, config.walLimitBytes);
      }
    } catch (err) {
      // Assigned only once the file opened: close it, so a failed start holds nothing.
      const db = (this as { db?: Database.Database }).db;
      if (db?.open) db.close();
      this.lock?.release();
      throw err;
    }
    const cp = this.db.prepare('SELECT MAX(size) AS size FROM checkpoints').get() as { size: number | null };
    this.lastCheckpointSize = cp.size ?? 0;
    this.insertEntry = this.db.prepare(insertEntrySql());
    this.insertPayload = this.db.prepare('INSERT INTO payloads(seq, salt, body) VALUES (?, ?, ?)');
    this.tx = {
      begin: this.db.prepare('BEGIN IMMEDIATE'),
      commit: this.db.prepare('COMMIT'),
      rollback: this.db.prepare('ROLLBACK'),
      savepoint: this.db.prepare('SAVEPOINT entry'),
      release: this.db.prepare('RELEASE entry'),
      rollbackTo: this.db.prepare('ROLLBACK TO entry'),
    };
    this.timer = setInterval(() => this.checkpointIfBehind(), config.checkpointSeconds * 1000);
    this.timer.unref();
    if (this.opened) {
      this.fileTimer = setInterval(() => this.checkFile(), config.fileCheckMs);
      this.fileTimer.unref();
    }
  }

  /** Healthy while appends commit and the path still names the open file; a failed batch makes it unhealthy until one commits. */
  get health(): LedgerHealth {
    if (this.lost) return { ok: false, reason: this.lost };
    if (this.failure) return { ok: false, reason: this.failure };
    return { ok: true };
  }

  /** Called on every change of `health`. */
  onHealthChange(listener: (health: LedgerHealth) => void): void {
    this.healthListeners.add(listener);
  }

  /** Called with each checkpoint this writer signs and stores (witnesses are sent it). */
  onCheckpoint(listener: (note: string, size: number) => void): void {
    this.checkpointListeners.add(listener);
  }

  private setHealth(change: () => void): void {
    const before = this.health;
    change();
    const after = this.health;
    if (before.ok !== after.ok || before.reason !== after.reason) for (const l of this.healthListeners) l(after);
  }

  /** Once the path names another file (or none), this writer stops: its entries would land where no auditor looks. */
  private checkFile(): boolean {
    if (this.lost || !this.opened) return !this.lost;
    const changed = fileChanged(this.config.path, this.opened);
    if (changed) this.setHealth(() => (this.lost = `${changed}; restart gavel once the ledger is restored`));
    return !changed;
  }

  get size(): number {
    return this.head.seq;
  }

  get headHash(): string {
    return this.head.hash;
  }

  /** Why this writer takes nothing more (closed, or its file gone), or undefined while it writes. */
  private refusal(lostDetail = ''): GavelError | undefined {
    if (this.closed) return new GavelError('ledger_unavailable', 'the ledger is closed');
    if (this.lost) return new GavelError('ledger_unavailable', `the ledger file is gone${lostDetail}`);
    return undefined;
  }

  append(record: EntryRecord, staged?: StagedWrite): Promise<Receipt> {
    return this.enqueue(record, staged);
  }

  private enqueue(record: EntryRecord, staged: StagedWrite | undefined, erasure = false): Promise<Receipt> {
    const refused = this.refusal('; no answer is given');
    if (refused) {
      staged?.finish(false, []);
      return Promise.reject(refused);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ record, staged, resolve, reject, ...(erasure ? { erasure } : {}) });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Appends and writes now, with everything queued before it: for the few entries that must be
   * durable before the caller goes on synchronously (a state check at start). `inTransaction` runs
   * in the entry's transaction (a rebuild of the state tables). Throws unless the entry and its
   * writes committed.
   */
  appendNow(record: EntryRecord, inTransaction?: () => void): void {
    const refused = this.refusal();
    if (refused) throw refused;
    // flush() would put the write off to a later turn: this caller must know now, and nothing is left queued behind it.
    if (this.db.inTransaction) throw new GavelError('ledger_unavailable', 'another transaction is open on the ledger connection; the entry was not written');
    let written = false;
    let failure: unknown;
    // Settled synchronously by flush (settleWritten, settleFailed), so the failure here is the entry's own.
    this.queue.push({
      record,
      staged: undefined,
      ...(inTransaction ? { alsoWrite: inTransaction } : {}),
      resolve: () => {
        written = true;
      },
      reject: (err) => {
        failure = err;
      },
    });
    this.flush();
    if (!written) throw failClosed(failure, 'ledger_unavailable', UNRECORDED);
  }

  /**
   * Rows outside the chain (shadow results, witness cosignatures) in a transaction of their own on
   * this writer's connection, after the appends queued before them: nothing is signed or chained.
   */
  writeRows(writes: readonly RowWrite[]): Promise<void> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    try {
      this.flush();
      this.db.transaction(() => this.rows.run(writes))();
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Writes everything queued, one transaction per maxBatch entries. */
  flush(): void {
    this.scheduled = false;
    if (this.closed) return;
    if (this.db.inTransaction) {
      // Another module's transaction is open on this connection: never commit inside it.
      this.scheduled = true;
      setImmediate(() => this.flush());
      return;
    }
    if (!this.checkFile()) {
      for (const pending of this.queue.splice(0)) settleFailed(pending, new GavelError('ledger_unavailable', 'the ledger file is gone; no answer is given'));
      return;
    }
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.config.maxBatch);
      this.writeBatch(batch);
    }
    if (this.head.seq - this.lastCheckpointSize >= this.config.checkpointEvery) this.checkpointIfBehind();
  }

  /**
   * One group commit. Each entry runs in a savepoint of its own, so an entry that
   * fails (a duplicate id, a failing staged write) is dropped alone. No caller is
   * answered before COMMIT returns. If the transaction as a whole fails, the chain
   * head is re-read from the file and the batch is split in halves and retried, so
   * innocent entries are still recorded; an entry that fails alone is refused.
   */
  private writeBatch(batch: Pending[]): void {
    // Canonicalise outside the transaction: a record that cannot be hashed fails alone.
    const ready: Array<{ pending: Pending; entry: PreparedEntry }> = [];
    for (const pending of batch) {
      try {
        const entry = prepareEntry(pending.record);
        const extra = pending.staged?.records?.map(prepareEntry);
        if (extra && extra.length > 0) pending.extra = extra;
        ready.push({ pending, entry });
      } catch (err) {
        settleFailed(pending, err);
      }
    }
    this.commitPrepared(ready);
  }

  private commitPrepared(ready: Array<{ pending: Pending; entry: PreparedEntry }>): void {
    if (ready.length === 0) return;
    let outcome: BatchOutcome;
    try {
      outcome = this.transaction(ready);
    } catch (err) {
      this.setHealth(() => (this.failure = `ledger appends are failing: ${errorMessage(err)}`));
      try {
        this.head = this.readHead();
      } catch (readErr) {
        // The head cannot be read back: nothing more is written on a guess; every caller is refused.
        for (const { pending } of ready) settleFailed(pending, readErr);
        return;
      }
      if (ready.length === 1) {
        settleFailed(ready[0]!.pending, err);
        return;
      }
      const half = Math.ceil(ready.length / 2);
      this.commitPrepared(ready.slice(0, half));
      this.commitPrepared(ready.slice(half));
      return;
    }
    this.head = outcome.head;
    if (this.failure) this.setHealth(() => (this.failure = undefined));
    for (const { pending, err } of outcome.refused) settleFailed(pending, err);
    for (const { pending, receipt } of outcome.written) settleWritten(pending, receipt);
  }

  /**
   * BEGIN IMMEDIATE … COMMIT; throws (after rolling back) when the batch as a whole did not commit.
   * The common case writes every entry straight through; only when one of them fails is the batch
   * rolled back and written again with a savepoint per entry, so that entry is dropped alone.
   */
  private transaction(ready: Array<{ pending: Pending; entry: PreparedEntry }>) {
    const tx = this.tx;
    tx.begin.run();
    try {
      const straight = this.writeStraight(ready);
      const outcome = straight ?? this.writeEach(ready);
      this.faults.beforeCommit?.(ready.length);
      tx.commit.run();
      return outcome;
    } catch (err) {
      if (this.db.inTransaction) tx.rollback.run();
      throw err;
    }
  }

  /** Every entry in order with no savepoints; undefined (everything rolled back, transaction still open) if one failed. */
  private writeStraight(ready: Array<{ pending: Pending; entry: PreparedEntry }>): BatchOutcome | undefined {
    if (ready.length === 1) return undefined;
    const tx = this.tx;
    let head = this.head;
    const written: BatchOutcome['written'] = [];
    tx.savepoint.run();
    try {
      for (const item of ready) {
        const { head: next, own } = this.writeItem(item, head);
        head = next;
        written.push({ pending: item.pending, receipt: { seq: own.seq, entryHash: own.hash } });
      }
      tx.release.run();
      return { written, refused: [], head };
    } catch {
      tx.rollbackTo.run();
      tx.release.run();
      return undefined;
    }
  }

  /** Each entry in a savepoint of its own: one that fails is rolled back and refused alone. */
  private writeEach(ready: Array<{ pending: Pending; entry: PreparedEntry }>): BatchOutcome {
    const tx = this.tx;
    let head = this.head;
    const written: BatchOutcome['written'] = [];
    const refused: BatchOutcome['refused'] = [];
    for (const item of ready) {
      tx.savepoint.run();
      try {
        const { head: next, own } = this.writeItem(item, head);
        head = next;
        tx.release.run();
        written.push({ pending: item.pending, receipt: { seq: own.seq, entryHash: own.hash } });
      } catch (err) {
        tx.rollbackTo.run();
        tx.release.run();
        refused.push({ pending: item.pending, err });
      }
    }
    return { written, refused, head };
  }

  /**
   * One entry's staged writes and rows, chained after `prev`, then its staged records after it.
   * Returns the head after all of them and the entry's own place (what its caller is given).
   */
  private writeItem(item: { pending: Pending; entry: PreparedEntry }, prev: Head): { head: Head; own: Head } {
    const { pending } = item;
    const writes = pending.staged?.writes ?? [];
    if (writes.length > 0) {
      // Only the writes of an erasure this ledger made (erase) may delete payloads (the payloads trigger asks gavel_erasing()).
      this.erasing = pending.erasure === true;
      try {
        pending.results = this.rows.run(writes);
      } finally {
        this.erasing = false;
      }
    }
    pending.alsoWrite?.();
    this.faults.beforeInsert?.(item.pending.record);
    const own = this.writeEntry(item.entry, prev);
    let head = own;
    for (const extra of item.pending.extra ?? []) head = this.writeEntry(extra, head);
    return { head, own };
  }

  private readHead(): Head {
    const row = this.db.prepare('SELECT seq, entry_hash FROM entries ORDER BY seq DESC LIMIT 1').get() as { seq: number; entry_hash: string } | undefined;
    const seq = row?.seq ?? 0;
    const nodes = this.tree.stored();
    if (nodes !== storedCount(seq)) {
      throw new Error(
        `the ledger's Merkle tree holds ${nodes} nodes but the tree of its ${seq} entries ${storedCount(seq)}; run gavel audit verify on the file`,
      );
    }
    return { seq, hash: row?.entry_hash ?? GENESIS_HASH, frontier: this.tree.frontier(seq) };
  }

  /**
   * Builds the Merkle tree over entries it does not hold yet: a ledger written before the tree (once,
   * at its first open by this version), in transactions of 10,000 entries. The leaves come from the
   * rows as they are; `audit verify` checks the chain and the tree against each other.
   */
  private growTree(): void {
    const entries = (this.db.prepare('SELECT MAX(seq) FROM entries').pluck().get() as number | null) ?? 0;
    // Whole, or holding more than the entries make (readHead names both counts).
    if (this.tree.stored() >= storedCount(entries)) return;
    const rows = this.db.prepare('SELECT * FROM entries WHERE seq > ? ORDER BY seq LIMIT 10000');
    for (let size = this.tree.grownTo(); ; ) {
      const batch = rows.all(size) as EntryRow[];
      if (batch.length === 0) return;
      this.db.transaction(() => {
        let frontier = this.tree.frontier(size);
        for (const row of batch) {
          if (row.seq !== size + 1) throw new Error(`the ledger has no entry ${size + 1} to put in its Merkle tree (the next is ${row.seq})`);
          frontier = this.tree.append(frontier, size, entryLeafHash(headerOfRow(row)));
          size++;
        }
      })();
    }
  }

  private writeEntry(e: PreparedEntry, prev: Head): Head {
    const header: ChainHeader = { ...e.header, seq: prev.seq + 1, prev_hash: prev.hash };
    const text = headerText(header);
    const { entryHash: hash, leaf } = entryHashes(header, text);
    this.insertEntry.run({ ...header, reason_codes: JSON.stringify(header.reason_codes), time_ms: e.timeMs, entry_hash: hash });
    this.insertPayload.run(header.seq, e.salt, e.body);
    const frontier = this.tree.append(prev.frontier, prev.seq, leaf);
    return { seq: header.seq, hash, frontier };
  }

  /**
   * Erases the payloads (and salts) the request matches, at most `limit` of them, recording an
   * `erasure` entry in the same transaction (erasure.ts); shadow results of the erased decisions go
   * too, and with `before` every shadow result before that time. Nothing matched: no entry.
   */
  erase(request: ErasureRequest, options: { limit?: number; now?: Date } = {}): Promise<ErasureResult> {
    try {
      checkErasureRequest(request);
    } catch (err) {
      return Promise.reject(err);
    }
    const run = this.erasures.then(() => this.eraseNow(request, options.limit ?? MAX_ERASED_PER_ENTRY, options.now ?? new Date()));
    this.erasures = run.catch(() => undefined);
    return run;
  }

  private async eraseNow(request: ErasureRequest, limit: number, now: Date): Promise<ErasureResult> {
    const seqs = erasableSeqs(this.db, request.criteria, limit);
    const shadow = hasTable(this.db, 'shadow_decisions');
    if ('before' in request.criteria && shadow) {
      this.db.prepare('DELETE FROM shadow_decisions WHERE time_ms < ?').run(Date.parse(request.criteria.before));
    }
    if (seqs.length === 0) return { erased: 0, seqs: [] };
    const record = erasureRecord(request, seqs, now, (message) => sign(null, message, this.key.privateKey));
    const writes = seqs.flatMap((seq) => [
      { sql: 'DELETE FROM payloads WHERE seq = ?', params: [seq] },
      ...(shadow ? [{ sql: 'DELETE FROM shadow_decisions WHERE decision_id = (SELECT decision_id FROM entries WHERE seq = ?)', params: [seq] }] : []),
    ]);
    const receipt = await this.enqueue(record, { writes, finish: () => undefined }, true);
    return { erased: seqs.length, seqs: seqRanges(seqs), entry: { decisionId: record.decisionId, ...receipt } };
  }

  /** Signs and stores a checkpoint of the current head, its commit fsynced with the entries it covers; returns the note. */
  checkpoint(): string | undefined {
    return this.storeCheckpoint(this.head, { synced: false });
  }

  /**
   * Signs and stores the checkpoint of `head`, then tells the listeners. Durable before anyone hears
   * of it (an exported note, a witness): its entries are on disk first, whatever --durability says of
   * ordinary commits. `synced`: the caller fsynced the WAL after `head` was committed; otherwise this
   * commit fsyncs it (synchronous = FULL), and with it every entry the checkpoint covers.
   */
  private storeCheckpoint(head: Head, { synced }: { synced: boolean }): string | undefined {
    if (head.seq === 0) return undefined;
    // One note per size: the one stored already (signed by an earlier run, perhaps before the tree) stands.
    const stored = this.db.prepare('SELECT note FROM checkpoints WHERE size = ?').pluck().get(head.seq) as string | undefined;
    if (stored !== undefined) {
      this.lastCheckpointSize = head.seq;
      return stored;
    }
    const c: Checkpoint = {
      origin: this.origin,
      size: head.seq,
      headHash: head.hash,
      rootHash: rootOf(head.frontier).toString('hex'),
      time: new Date().toISOString(),
    };
    const note = signCheckpoint(c, this.key);
    const relaxed = !synced && this.config.durability !== 'full' && this.config.path !== ':memory:';
    if (relaxed) this.db.pragma('synchronous = FULL');
    try {
      this.db.prepare('INSERT INTO checkpoints(size, head_hash, time, note) VALUES (?, ?, ?, ?)').run(c.size, c.headHash, c.time, note);
    } finally {
      if (relaxed) this.db.pragma('synchronous = NORMAL');
    }
    this.lastCheckpointSize = c.size;
    for (const l of this.checkpointListeners) l(note, c.size);
    return note;
  }

  /**
   * Runs from flush (a setImmediate) and the timer: a failure must not escape as an uncaught
   * exception. With durability normal the event loop never waits on the disk for it: the WAL is
   * fsynced in libuv's threadpool, then the head as it was when the fsync began is signed (an fsync
   * in the checkpoint's own commit cost appends about a tenth of their rate at 1,000 entries a
   * checkpoint). One at a time; one overtaken by a later checkpoint (proofs, close) is dropped.
   */
  private checkpointIfBehind(): void {
    if (this.closed || this.syncing || this.head.seq === this.lastCheckpointSize) return;
    const attempt = (head: Head, synced: boolean) => {
      try {
        if (head.seq > this.lastCheckpointSize) this.storeCheckpoint(head, { synced });
      } catch {
        // A failed periodic checkpoint is retried on the next flush or tick, and at close.
      }
    };
    if (this.config.durability === 'full' || this.config.path === ':memory:') {
      attempt(this.head, false);
      return;
    }
    const head = this.head;
    // Stored even when close() began meanwhile: close waits for it, then signs the head it ends at.
    this.syncing = (this.faults.syncWal ?? syncWal)(this.config.path).then(
      () => {
        this.syncing = undefined;
        if (this.db.open) attempt(head, true);
      },
      () => {
        // The WAL could not be synced from here: the checkpoint's own commit syncs it instead.
        this.syncing = undefined;
        if (this.db.open) attempt(this.head, false);
      },
    );
  }

  query(filter: QueryFilter): Iterable<EntrySummary> {
    return queryEntries(this.db, filter);
  }

  get(decisionId: string): EntryDetail | undefined {
    return getEntry(this.db, decisionId);
  }

  /** The latest decision a caller recorded under a request id since `sinceMs` (idempotent Decide). */
  findRequest(caller: string, requestId: string, sinceMs: number): EntryDetail | undefined {
    return findRequestEntry(this.db, caller, requestId, sinceMs);
  }

  policyStatus(): PolicyStatus {
    return policyStatus(this.db);
  }

  verifierKey(): string {
    return formatVerifierKey(this.key);
  }

  /**
   * Verifies with the ledger's own key (an auditor who distrusts the server runs
   * `gavel audit verify --pubkey` on the file instead). A file ledger is walked on a
   * read-only connection of its own, in slices, so appends carry on meanwhile.
   */
  async verify(externalCheckpoint?: string, onProgress?: (done: number, total: number) => void, witnesses?: VerifyOptions['witnesses']): Promise<VerifyReport> {
    const options = {
      key: verifierOf(this.key),
      ...(externalCheckpoint ? { externalCheckpoint } : {}),
      ...(onProgress ? { onProgress } : {}),
      ...(witnesses ? { witnesses } : {}),
    };
    if (this.config.path === ':memory:') return verifyLedger(this.db, options);
    return verifyLedgerFile(this.config.path, options);
  }

  latestCheckpoint(): string | undefined {
    return latestCheckpointNote(this.db);
  }

  /**
   * Stops writing and hands the file to another writer (the ledger's writer thread, threaded.ts):
   * what is queued is written, the timers stop, the writer lock is released, and this connection
   * stays open for reads alone (`query_only`: any write on it fails from now on). Checkpoints are
   * the new writer's to sign.
   */
  async handOver(): Promise<Database.Database> {
    if (this.closed) throw new GavelError('ledger_unavailable', 'the ledger is closed');
    if (this.queue.length > 0) this.flush();
    this.closed = true;
    // Whatever a flush could not write (a transaction open on this connection) is refused, not lost.
    for (const pending of this.queue.splice(0))
      settleFailed(pending, new GavelError('ledger_unavailable', `the ledger was handed to its writer thread; ${UNRECORDED}`));
    clearInterval(this.timer);
    clearInterval(this.fileTimer);
    try {
      await this.checkpointer?.stop();
      await this.syncing;
    } finally {
      this.db.pragma('query_only = ON');
      this.lock?.release();
    }
    return this.db;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.queue.length > 0) this.flush();
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.fileTimer);
    await this.checkpointer?.stop();
    await this.syncing;
    try {
      if (this.head.seq !== this.lastCheckpointSize && !this.lost) this.checkpoint();
      this.db.pragma('optimize');
    } finally {
      this.db.close();
      this.lock?.release();
    }
  }
}
