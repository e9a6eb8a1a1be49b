import { Worker } from 'node:worker_threads';
import type { CompareOptions, StateMismatch } from './compare.js';

/**
 * The state check of a ledger file in a worker thread with a read-only connection of its own:
 * it reads every entry, which on a large ledger takes seconds, and a running server's event loop
 * must keep answering meanwhile (AuditService.Verify). Rejects if the worker fails.
 */
export function stateMismatchesOffThread(path: string, usage: CompareOptions['usage']): Promise<StateMismatch[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./verify-worker-entry.mjs', import.meta.url), { workerData: { path, usage } });
    worker.once('message', (m: { mismatches?: StateMismatch[]; error?: string }) => {
      if (m.mismatches) resolve(m.mismatches);
      else reject(new Error(`the state check failed: ${m.error}`));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the state check's worker exited with ${code}`)));
  });
}
