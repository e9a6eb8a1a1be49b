import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints off the event loop. The writer's connection runs with
 * `wal_autocheckpoint = 0`, so no COMMIT ever pays for copying the WAL into the
 * database (a synchronous stall of up to tens of milliseconds); instead a worker
 * thread with a connection of its own runs a PASSIVE checkpoint every interval.
 * PASSIVE never blocks the writer or readers: it copies what it can and leaves
 * the rest for the next round. Durability is unchanged: a commit is durable once
 * it is in the WAL.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 100');
const run = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or failing: the next round tries again; the writer is never affected.
  }
};
const timer = setInterval(run, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export class WalCheckpointer {
  private readonly worker: Worker;

  constructor(path: string, intervalMs: number) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, intervalMs, driver } });
    this.worker.unref();
    // A worker that fails to open only loses the off-loop checkpoints; close() checkpoints in full anyway.
    this.worker.on('error', () => undefined);
  }

  async stop(): Promise<void> {
    // Held while stopping: an unref'd worker would let the process exit mid-close.
    this.worker.ref();
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage('stop');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 2000);
    });
    await Promise.race([exited, late]);
    clearTimeout(timer);
    await this.worker.terminate();
  }
}
