import { createPublicKey, type KeyObject } from 'node:crypto';
import { MessageChannel, receiveMessageOnPort, Worker, type TransferListItem } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { UNRECORDED, type EntryRecord, type Receipt, type RowWrite, type StagedWrite } from '../engine/ledger.js';
import { GavelError } from '../lib/errors.js';
import { Outbox } from '../lib/outbox.js';
import { ledgerOrigin } from './checkpoint.js';
import type { LedgerConfig } from './config.js';
import type { ErasureRequest, ErasureResult } from './erasure.js';
import { formatVerifierKey, verifierOf } from './keys.js';
import { latestCheckpointNote, readLedgerId } from './meta.js';
import { policyStatus, type PolicyStatus } from './policy-status.js';
import { findRequestEntry, getEntry, queryEntries, type EntryDetail, type EntrySummary, type QueryFilter } from './query.js';
import type { LedgerHealth, SqliteLedger } from './sqlite.js';
import type { ServedLedger } from './types.js';
import { verifyLedgerFile, type VerifyOptions, type VerifyReport } from './verify.js';
import { appendItem, errorOf, type AppendItem, type CalledNow, type CallResult, type FromWriter, type ToWriter, type WriterCall } from './writer-protocol.js';

const ENTRY = new URL('./writer-entry.mjs', import.meta.url);
/** The writer thread's V8 young generation (the evaluation workers' default too). */
const WRITER_YOUNG_GENERATION_MB = 4;

/** This thread's side of the file: a connection that reads it, and the key its checkpoints are verified with. */
export interface LedgerReader {
  db: Database.Database;
  key: { name: string; publicKey: KeyObject };
}

export interface ThreadOptions {
  /** The writer thread's module (default writer-entry.mjs): one that calls serveWriter with extras of its own. */
  entry?: URL;
  /** The read connection (default: a read-only one opened once the writer is ready). */
  reader?: LedgerReader;
}

interface Waiting {
  staged: StagedWrite | undefined;
  resolve: (receipt: Receipt) => void;
  reject: (err: unknown) => void;
}

/**
 * The ledger written by a thread of its own (writer-worker.ts): this thread sends each append's
 * record and staged rows, gathered per turn of the event loop into one message (one group commit
 * there), and hears back once the transaction committed. A staged write is finished here, with
 * what its rows did, before its caller gets the receipt; an append the writer cannot answer (it
 * died, or was closed) is refused: no answer leaves unrecorded.
 */
export class ThreadedLedger implements ServedLedger {
  private readonly worker: Worker;
  private readonly config: LedgerConfig;
  private readonly reader: LedgerReader;
  private readonly waiting = new Map<number, Waiting>();
  /** Appends asked for in one turn of the event loop: one message, one group commit on the writer. */
  private readonly outgoing = new Outbox<AppendItem>(
    (items) => this.post({ type: 'append', items }),
    (item, err) => {
      // Not sent (a record that cannot be cloned): refused, none of it written.
      const w = this.waiting.get(item.id);
      this.waiting.delete(item.id);
      if (w) giveUp(w, new GavelError('ledger_unavailable', UNRECORDED, { cause: err }));
    },
  );
  private nextId = 1;
  private closing: Promise<void> | undefined;
  private gone: string | undefined;
  private head: { size: number; headHash: string };
  private readonly calls = new Map<number, { resolve: (r: CallResult) => void; reject: (err: unknown) => void }>();
  private nextCall = 1;
  private currentHealth: LedgerHealth;
  private readonly healthListeners = new Set<(health: LedgerHealth) => void>();
  private readonly checkpointListeners = new Set<(note: string, size: number) => void>();

  private constructor(worker: Worker, config: LedgerConfig, reader: LedgerReader, ready: { size: number; headHash: string; health: LedgerHealth }) {
    this.worker = worker;
    this.config = config;
    this.reader = reader;
    this.head = { size: ready.size, headHash: ready.headHash };
    this.currentHealth = ready.health;
    worker.on('message', (m: FromWriter) => this.heard(m));
    worker.on('error', (err) => this.lost(`the ledger's writer thread failed: ${err.message}`));
    worker.on('exit', () => this.lost("the ledger's writer thread has stopped"));
  }

  /**
   * Hands `ledger`'s file to a writer thread: `ledger` writes what it has queued and stops, its
   * connection stays here for reads, and the thread writes from now on. A thread that cannot start
   * closes that connection too.
   */
  static async takeOver(ledger: SqliteLedger, config: LedgerConfig, options: { entry?: URL } = {}): Promise<ThreadedLedger> {
    const db = await ledger.handOver();
    try {
      return await ThreadedLedger.open(config, { ...options, reader: { db, key: ledger.key } });
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Starts the writer thread on `config` and resolves once it opened the ledger (or rejects with why it could not). */
  static open(config: LedgerConfig, options: ThreadOptions = {}): Promise<ThreadedLedger> {
    if (config.path === ':memory:') return Promise.reject(new Error('a ledger in memory cannot be written from another thread'));
    // Its garbage (each batch's records and rows) dies young: a small young generation holds less memory, as the evaluation workers' does.
    const worker = new Worker(options.entry ?? ENTRY, {
      workerData: { config },
      name: 'gavel-ledger-writer',
      resourceLimits: { maxYoungGenerationSizeMb: WRITER_YOUNG_GENERATION_MB },
    });
    return new Promise((resolve, reject) => {
      const settle = () => {
        worker.off('message', first);
        worker.off('error', failed);
        worker.off('exit', exited);
      };
      const first = (m: FromWriter) => {
        settle();
        if (m.type === 'ready') {
          try {
            resolve(new ThreadedLedger(worker, config, options.reader ?? readerOf(config.path), m));
          } catch (err) {
            reject(err);
            void worker.terminate();
          }
          return;
        }
        reject(m.type === 'failed' ? errorOf(m.error) : new Error(`the ledger's writer thread said ${m.type} first`));
        void worker.terminate();
      };
      const failed = (err: Error) => {
        settle();
        reject(err);
      };
      const exited = (code: number) => {
        settle();
        reject(new Error(`the ledger's writer thread stopped (exit code ${code}) before it opened the ledger`));
      };
      worker.once('message', first);
      worker.once('error', failed);
      worker.once('exit', exited);
    });
  }

  /** Entries in the chain, as of the writer's last answer. */
  get size(): number {
    return this.head.size;
  }

  get headHash(): string {
    return this.head.headHash;
  }

  /** The writer's health, as it last said (unhealthy once it is gone). */
  get health(): LedgerHealth {
    return this.currentHealth;
  }

  onHealthChange(listener: (health: LedgerHealth) => void): void {
    this.healthListeners.add(listener);
  }

  /** Each checkpoint the writer signs (its note and size): what witnesses are sent. */
  onCheckpoint(listener: (note: string, size: number) => void): void {
    this.checkpointListeners.add(listener);
  }

  /** Erases payloads in the writer (its erasure entry signed and chained there). */
  async erase(request: ErasureRequest, options: { limit?: number; now?: Date } = {}): Promise<ErasureResult> {
    const answer = await this.call({ op: 'erase', request, ...options });
    if (answer.op !== 'erase') throw new Error(`the ledger's writer answered ${answer.op} to erase`);
    return answer.result;
  }

  /** Signs a checkpoint of the head now (the writer's commit fsyncs the entries it covers); its note (none from an empty ledger). */
  async checkpoint(): Promise<string | undefined> {
    const answer = await this.call({ op: 'checkpoint' });
    if (answer.op !== 'checkpoint') throw new Error(`the ledger's writer answered ${answer.op} to checkpoint`);
    return answer.note;
  }

  /** Rows outside the chain, written by the writer thread in a transaction of their own (after the appends sent before them). */
  async writeRows(writes: readonly RowWrite[]): Promise<void> {
    const answer = await this.call({ op: 'rows', writes });
    if (answer.op !== 'rows') throw new Error(`the ledger's writer answered ${answer.op} to rows`);
  }

  get origin(): string {
    return this.reader.key.name;
  }

  get key(): LedgerReader['key'] {
    return this.reader.key;
  }

  /**
   * Runs work the writer thread's module named and waits for it, blocking this thread (at most
   * `timeoutMs`): for the rare call that must be done before the caller goes on synchronously (the
   * state guard's repair before a read). Appends asked for before it are written first.
   */
  extraNow(name: string, args: unknown, timeoutMs = 30_000): unknown {
    const refused = this.refusal();
    if (refused) throw refused;
    this.send();
    const signal = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new MessageChannel();
    try {
      this.post({ type: 'call-now', call: { op: 'extra', name, args }, port: port2, signal }, [port2]);
      const waited = Atomics.wait(signal, 0, 0, timeoutMs);
      const heard = receiveMessageOnPort(port1);
      if (!heard) throw new GavelError('ledger_unavailable', `the ledger's writer thread did not answer ${name} (${waited})`);
      const answer = heard.message as CalledNow;
      if (!answer.ok) throw errorOf(answer.error);
      this.advance(answer.size, answer.headHash);
      if (answer.result.op !== 'extra') throw new Error(`the ledger's writer answered ${answer.result.op} to ${name}`);
      return answer.result.result;
    } finally {
      port1.close();
    }
  }

  /** The read connection (queries, proofs, the stores' reads): it sees what the writer committed. */
  get db(): Database.Database {
    return this.reader.db;
  }

  query(filter: QueryFilter): Iterable<EntrySummary> {
    return queryEntries(this.reader.db, filter);
  }

  get(decisionId: string): EntryDetail | undefined {
    return getEntry(this.reader.db, decisionId);
  }

  findRequest(caller: string, requestId: string, sinceMs: number): EntryDetail | undefined {
    return findRequestEntry(this.reader.db, caller, requestId, sinceMs);
  }

  policyStatus(): PolicyStatus {
    return policyStatus(this.reader.db);
  }

  latestCheckpoint(): string | undefined {
    return latestCheckpointNote(this.reader.db);
  }

  verifierKey(): string {
    return formatVerifierKey(this.reader.key);
  }

  /** Walks the file on a read-only connection of its own, in slices: appends carry on meanwhile. */
  verify(externalCheckpoint?: string, onProgress?: (done: number, total: number) => void, witnesses?: VerifyOptions['witnesses']): Promise<VerifyReport> {
    return verifyLedgerFile(this.config.path, {
      key: verifierOf(this.reader.key),
      ...(externalCheckpoint ? { externalCheckpoint } : {}),
      ...(onProgress ? { onProgress } : {}),
      ...(witnesses ? { witnesses } : {}),
    });
  }

  private call(call: WriterCall): Promise<CallResult> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    // Appends asked for before it go first: the writer takes messages in order.
    this.send();
    const id = this.nextCall++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.post({ type: 'call', id, call });
    });
  }

  private setHealth(health: LedgerHealth): void {
    this.currentHealth = health;
    for (const listener of this.healthListeners) heedless(() => listener(health));
  }

  append(record: EntryRecord, staged?: StagedWrite): Promise<Receipt> {
    const refused = this.refusal();
    if (refused) {
      return new Promise((_resolve, reject) => giveUp({ staged, resolve: () => undefined, reject }, refused));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { staged, resolve, reject });
      this.outgoing.put(appendItem(id, record, staged?.writes ?? [], staged?.records));
    });
  }

  /** Appends asked for so far, posted now: the writer takes messages in order. */
  private send(): void {
    this.outgoing.send();
  }

  private post(m: ToWriter, transfer?: TransferListItem[]): void {
    this.worker.postMessage(m, transfer);
  }

  /** The head as the writer last said, never back: a waited-for call's answer can overtake older messages. */
  private advance(size: number, headHash: string): void {
    if (size >= this.head.size) this.head = { size, headHash };
  }

  private heard(m: FromWriter): void {
    if (m.type === 'answered') {
      const c = this.calls.get(m.id);
      this.calls.delete(m.id);
      if (m.ok) {
        this.advance(m.size, m.headHash);
        c?.resolve(m.result);
      } else {
        c?.reject(errorOf(m.error));
      }
      return;
    }
    if (m.type === 'checkpoint') {
      for (const listener of this.checkpointListeners) heedless(() => listener(m.note, m.size));
      return;
    }
    if (m.type === 'health') {
      this.setHealth(m.health);
      return;
    }
    if (m.type === 'settled') {
      this.advance(m.size, m.headHash);
      for (const outcome of m.outcomes) {
        const w = this.waiting.get(outcome.id);
        if (!w) continue;
        this.waiting.delete(outcome.id);
        if (outcome.ok) {
          try {
            w.staged?.finish(true, outcome.results);
          } catch {
            // A staged write's bookkeeping failed after COMMIT; the entry is durable, so the caller is still answered.
          }
          w.resolve(outcome.receipt);
        } else {
          giveUp(w, errorOf(outcome.error));
        }
      }
    }
  }

  /**
   * The refusal of anything asked now, if it is refused: closed by its owner (whatever its thread did
   * after: it exits once closed, and that is no news), or its writer thread lost before that.
   */
  private refusal(): GavelError | undefined {
    const why = this.closing ? 'the ledger is closed' : this.gone;
    return why === undefined ? undefined : new GavelError('ledger_unavailable', why);
  }

  /** The writer is gone: every append still waiting is refused, and so is every later one. */
  private lost(why: string): void {
    if (!this.gone) {
      this.gone = why;
      if (!this.closing) this.setHealth({ ok: false, reason: why });
    }
    for (const [id, c] of this.calls) {
      this.calls.delete(id);
      c.reject(new GavelError('ledger_unavailable', why));
    }
    for (const [id, w] of this.waiting) {
      this.waiting.delete(id);
      giveUp(w, new GavelError('ledger_unavailable', `${why}; ${UNRECORDED}`));
    }
  }

  /** Sends what is queued, lets the writer finish and close its ledger (a last checkpoint), then stops it; rejects if that close failed. */
  close(): Promise<void> {
    this.closing ??= this.closeWriter().finally(() => {
      if (this.reader.db.open) this.reader.db.close();
    });
    return this.closing;
  }

  private closeWriter(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.gone) {
        resolve();
        return;
      }
      this.send();
      const done = (m: FromWriter) => {
        if (m.type === 'closed') resolve();
        else if (m.type === 'failed') reject(errorOf(m.error));
        else return;
        this.worker.off('message', done);
      };
      this.worker.on('message', done);
      this.worker.once('exit', () => resolve());
      this.post({ type: 'close' });
    });
  }
}

/** An append given up: its staged write hears so (even if that throws), then its caller is refused. */
function giveUp(w: Waiting, err: unknown): void {
  try {
    w.staged?.finish(false, []);
  } catch {
    // The staged write's own bookkeeping failed; the caller is refused all the same.
  } finally {
    w.reject(err);
  }
}

/** A listener's failure stays its own: the writer's messages keep being heard. */
function heedless(listener: () => void): void {
  try {
    listener();
  } catch {
    // Nothing to undo: the listener only observes.
  }
}

/** A read-only connection on a ledger file the writer opened, and the key recorded in it. */
function readerOf(path: string): LedgerReader {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const pem = db.prepare(`SELECT value FROM meta WHERE key = 'public_key'`).pluck().get() as string;
    return { db, key: { name: ledgerOrigin(readLedgerId(db)), publicKey: createPublicKey(pem) } };
  } catch (err) {
    db.close();
    throw err;
  }
}
