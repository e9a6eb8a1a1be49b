import { Worker } from 'node:worker_threads';
import { UNRECORDED, type EntryRecord, type Ledger, type Receipt, type StagedWrite } from '../engine/ledger.js';
import { GavelError } from '../lib/errors.js';
import type { LedgerConfig } from './config.js';
import { errorOf, type AppendItem, type FromWriter, type ToWriter } from './writer-protocol.js';

const ENTRY = new URL('./writer-entry.mjs', import.meta.url);

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
export class ThreadedLedger implements Ledger {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private outgoing: AppendItem[] = [];
  private nextId = 1;
  private scheduled = false;
  private closing: Promise<void> | undefined;
  private gone: string | undefined;
  private head: { size: number; headHash: string };

  private constructor(worker: Worker, ready: { size: number; headHash: string }) {
    this.worker = worker;
    this.head = ready;
    worker.on('message', (m: FromWriter) => this.heard(m));
    worker.on('error', (err) => this.lost(`the ledger's writer thread failed: ${err.message}`));
    worker.on('exit', () => this.lost("the ledger's writer thread has stopped"));
  }

  /** Starts the writer thread on `config` and resolves once it opened the ledger (or rejects with why it could not). */
  static open(config: LedgerConfig): Promise<ThreadedLedger> {
    if (config.path === ':memory:') return Promise.reject(new Error('a ledger in memory cannot be written from another thread'));
    const worker = new Worker(ENTRY, { workerData: { config }, name: 'gavel-ledger-writer' });
    return new Promise((resolve, reject) => {
      const settle = () => {
        worker.off('message', first);
        worker.off('error', failed);
        worker.off('exit', exited);
      };
      const first = (m: FromWriter) => {
        settle();
        if (m.type === 'ready') {
          resolve(new ThreadedLedger(worker, m));
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

  append(record: EntryRecord, staged?: StagedWrite): Promise<Receipt> {
    if (this.closing || this.gone) {
      const refused = new GavelError('ledger_unavailable', this.gone ?? 'the ledger is closed');
      return new Promise((_resolve, reject) => giveUp({ staged, resolve: () => undefined, reject }, refused));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { staged, resolve, reject });
      this.outgoing.push({ id, record, writes: staged?.writes ?? [], ...(staged?.records ? { records: staged.records } : {}) });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.send());
      }
    });
  }

  private send(): void {
    this.scheduled = false;
    if (this.outgoing.length === 0) return;
    const items = this.outgoing;
    this.outgoing = [];
    try {
      this.post({ type: 'append', items });
    } catch (err) {
      // Not sent (a record that cannot be cloned): refused, none of it written.
      for (const item of items) {
        const w = this.waiting.get(item.id);
        this.waiting.delete(item.id);
        if (w) giveUp(w, new GavelError('ledger_unavailable', UNRECORDED, { cause: err }));
      }
    }
  }

  private post(m: ToWriter): void {
    this.worker.postMessage(m);
  }

  private heard(m: FromWriter): void {
    if (m.type === 'settled') {
      this.head = { size: m.size, headHash: m.headHash };
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

  /** The writer is gone: every append still waiting is refused, and so is every later one. */
  private lost(why: string): void {
    this.gone ??= why;
    for (const [id, w] of this.waiting) {
      this.waiting.delete(id);
      giveUp(w, new GavelError('ledger_unavailable', `${why}; ${UNRECORDED}`));
    }
  }

  /** Sends what is queued, lets the writer finish and close its ledger (a last checkpoint), then stops it; rejects if that close failed. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve, reject) => {
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
    return this.closing;
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
