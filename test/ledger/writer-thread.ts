import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { ledgerConfig, type LedgerConfig } from '../../src/ledger/config.js';
import type { ThreadedLedger } from '../../src/ledger/threaded.js';
import { tempDir } from '../helpers/paths.js';

/** Shared pieces of the writer thread's tests (threaded, threaded-calls, threaded-faults). */

/** A new ledger file with a table of the test's own (`side`), for rows staged beside entries. */
export function fileWithSideTable(): string {
  const path = join(tempDir(), 'ledger.db');
  const db = new Database(path);
  db.exec('CREATE TABLE side (id TEXT PRIMARY KEY, n INTEGER NOT NULL)');
  db.close();
  return path;
}

/** A ledger config whose checkpoints come only when asked for (and at close). */
export const threadConfig = (path: string, over: Partial<LedgerConfig> = {}): LedgerConfig =>
  ledgerConfig(path, { checkpointEvery: 1_000_000, checkpointSeconds: 3600, ...over });

/** The writer thread (private: reached for these tests alone). */
const workerOf = (ledger: ThreadedLedger) => (ledger as unknown as { worker: Worker }).worker;

/** Stops the writer thread from outside, as a crash of it would. */
export const stopWriter = (ledger: ThreadedLedger) => workerOf(ledger).terminate();

/**
 * Resolves once the writer thread has exited and the ledger has heard so: ask for it while the
 * thread runs (the ledger's own exit listener was added first, so it has run when this resolves). Not
 * events.once: that rejects on the thread's 'error', which a failing writer emits first.
 */
export const writerExit = (ledger: ThreadedLedger): Promise<number> => new Promise((resolve) => workerOf(ledger).once('exit', resolve));
