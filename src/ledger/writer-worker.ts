import { parentPort, workerData } from 'node:worker_threads';
import type { RowResult } from '../engine/ledger.js';
import { SqliteLedger } from './sqlite.js';
import {
  itemRecord,
  wireError,
  type AppendItem,
  type AppendOutcome,
  type CalledNow,
  type CallResult,
  type FromWriter,
  type ToWriter,
  type WriterCall,
  type WriterSetup,
} from './writer-protocol.js';

/**
 * Work a writer thread does on its ledger beside appends, named by its starter (the runtime's
 * state repair): each runs on the writing connection, after what was sent before it was written.
 */
export type WriterExtras = Record<string, (ledger: SqliteLedger, args: unknown) => unknown>;

/**
 * The ledger's writer thread: it owns the SQLite connection that writes, the chain head and the
 * group commit (a SqliteLedger), and appends what the main thread sends, a batch per message,
 * answering each append once its transaction committed or it was refused.
 */
export function serveWriter(extras: WriterExtras = {}): void {
  const port = parentPort;
  if (!port) throw new Error('the ledger writer runs as a worker thread');
  const { config } = workerData as WriterSetup;
  const send = (m: FromWriter) => port.postMessage(m);

  let ledger: SqliteLedger;
  try {
    ledger = new SqliteLedger(config);
    ledger.onCheckpoint((note, size) => send({ type: 'checkpoint', note, size }));
    ledger.onHealthChange((health) => send({ type: 'health', health }));
    send({ type: 'ready', size: ledger.size, headHash: ledger.headHash, health: ledger.health });
  } catch (err) {
    send({ type: 'failed', error: wireError(err) });
    process.exit(0);
  }

  function appendOne(item: AppendItem): Promise<AppendOutcome> {
    let results: RowResult[] = [];
    return ledger
      .append(itemRecord(item), {
        writes: item.writes,
        finish: (committed, rows) => {
          if (committed) results = [...rows];
        },
        ...(item.records ? { records: item.records } : {}),
      })
      .then(
        (receipt): AppendOutcome => ({ id: item.id, ok: true, receipt, results }),
        (err: unknown): AppendOutcome => ({ id: item.id, ok: false, error: wireError(err) }),
      );
  }

  /** Callers blocked on a waited-for call: woken when it is answered, or when this thread exits (they then find no answer). */
  const waiters = new Set<Int32Array>();
  function wake(signal: Int32Array): void {
    waiters.delete(signal);
    Atomics.store(signal, 0, 1);
    Atomics.notify(signal, 0);
  }
  process.on('exit', () => {
    for (const signal of waiters) wake(signal);
  });

  /** Batches and calls not answered yet: close answers them before it says closed. */
  const answering = new Set<Promise<void>>();
  function track(answered: Promise<void>): void {
    answering.add(answered);
    void answered.finally(() => answering.delete(answered));
  }

  async function callOf(call: WriterCall): Promise<CallResult> {
    // Appends sent before the call are queued in the ledger: written first, so the call sees them.
    ledger.flush();
    if (call.op === 'erase') {
      const result = await ledger.erase(call.request, { ...(call.limit !== undefined ? { limit: call.limit } : {}), ...(call.now ? { now: call.now } : {}) });
      return { op: 'erase', result };
    }
    if (call.op === 'rows') {
      await ledger.writeRows(call.writes);
      return { op: 'rows' };
    }
    if (call.op === 'extra') {
      const extra = Object.hasOwn(extras, call.name) ? extras[call.name] : undefined;
      if (!extra) throw new Error(`the ledger's writer has no ${call.name}`);
      return { op: 'extra', result: await extra(ledger, call.args) };
    }
    return { op: 'checkpoint', note: ledger.checkpoint() };
  }

  /** Closes the ledger (writing what is queued), then waits until every batch has had its answer sent. */
  async function closeLedger(): Promise<void> {
    const closing = ledger.close();
    await Promise.allSettled([closing, ...answering]);
    await closing;
  }

  port.on('message', (m: ToWriter) => {
    if (m.type === 'append') {
      // Appended in the same turn: the ledger writes them in one group commit.
      const answered = Promise.all(m.items.map(appendOne)).then((outcomes) =>
        send({ type: 'settled', outcomes, size: ledger.size, headHash: ledger.headHash }),
      );
      track(answered);
      return;
    }
    if (m.type === 'call-now') {
      // Its caller's thread is blocked until the signal is set: set whatever happens, and at exit.
      waiters.add(m.signal);
      const answered = callOf(m.call)
        .then(
          (result): CalledNow => ({ ok: true, result, size: ledger.size, headHash: ledger.headHash }),
          (err: unknown): CalledNow => ({ ok: false, error: wireError(err) }),
        )
        .then((answer) => {
          try {
            m.port.postMessage(answer);
          } catch (err) {
            m.port.postMessage({ ok: false, error: wireError(err) } satisfies CalledNow);
          }
        })
        .finally(() => {
          m.port.close();
          wake(m.signal);
        });
      track(answered.catch(() => undefined));
      return;
    }
    if (m.type === 'call') {
      const answered = callOf(m.call).then(
        (result) => send({ type: 'answered', id: m.id, ok: true, result, size: ledger.size, headHash: ledger.headHash }),
        (err: unknown) => send({ type: 'answered', id: m.id, ok: false, error: wireError(err) }),
      );
      track(answered);
      return;
    }
    void closeLedger().then(
      () => {
        send({ type: 'closed' });
        port.close();
      },
      (err: unknown) => {
        send({ type: 'failed', error: wireError(err) });
        port.close();
      },
    );
  });
}
