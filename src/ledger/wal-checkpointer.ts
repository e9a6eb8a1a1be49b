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
 *
 * PASSIVE alone never lets the WAL start over under steady load: the writer
 * rewinds it only when a checkpoint has copied every frame, and a commit always
 * lands while one runs. So the WAL grew without bound (1.9 GB after 40 s at
 * 480 decisions/s, bench/README) and every page lookup searched a longer WAL
 * index. Once the WAL holds more than `limitBytes`, the round follows its PASSIVE
 * copy with a RESTART: it waits for the writer's transaction in flight, copies the
 * few frames committed since, and holds new writers off until readers have moved
 * past the WAL, so the next COMMIT writes from its start (and the writer's
 * `journal_size_limit` trims the file). The writer waits that long, once per
 * `limitBytes` written.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 100');
const pageSize = db.pragma('page_size', { simple: true });
const run = () => {
  try {
    const [copied] = db.pragma('wal_checkpoint(PASSIVE)');
    if (copied && copied.log * pageSize > workerData.limitBytes) db.pragma('wal_checkpoint(RESTART)');
  } catch {
    // Busy or failing: the next round tries again. Only a RESTART holds the writer: for the copy of the last frames,
    // and while a reader is still on the WAL, for each of its two waits at most this connection's busy timeout (100 ms).
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

  constructor(path: string, intervalMs: number, limitBytes: number) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, intervalMs, limitBytes, driver } });
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
