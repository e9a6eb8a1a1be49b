import { parentPort, workerData } from 'node:worker_threads';
import { openLedgerReadOnly } from '../ledger/read-only.js';
import { compareState, type CompareOptions } from './compare.js';
import { deriveState } from './derive.js';

/** The state check of a running server's ledger file, on a read-only connection of its own (off-thread.ts). */
const { path, usage } = workerData as { path: string; usage: CompareOptions['usage'] };
const db = openLedgerReadOnly(path);
try {
  parentPort!.postMessage({ mismatches: compareState(db, deriveState(db), { usage }) });
} catch (err) {
  parentPort!.postMessage({ error: (err as Error).message });
} finally {
  db.close();
}
