import { parentPort, workerData } from 'node:worker_threads';
import { Outbox } from '../../lib/outbox.js';
import type { FromWorker, ToWorker, WorkerSetup } from './protocol.js';
import { toWire } from './protocol.js';
import { WorkerHandler } from './worker-handler.js';

/**
 * An evaluation worker thread: the pool's lists of messages to its handler (worker-handler.ts), one by one; the
 * answers back as one list per turn of this thread's event loop.
 */
const port = parentPort;
if (!port) throw new Error('pool/worker.ts runs as a worker thread');
const answers = new Outbox<FromWorker>(
  (messages) => port.postMessage(messages),
  // An answer the structured clone refuses: its decision fails instead of waiting for the evaluation timeout.
  (message, err) => {
    if ('id' in message) port.postMessage([{ t: 'fault', id: message.id, fault: toWire(err) } satisfies FromWorker]);
  },
);
const handler = new WorkerHandler((workerData as WorkerSetup).limits, (message) => answers.put(message));

/**
 * Answers wait for the turn's end only while the work behind them is short: the pool's watchdog times a worker from
 * the last answer it heard, so a list of evaluations, each within engine.evaluationTimeoutMs but longer together,
 * must not look like one stuck evaluation.
 */
const ANSWER_WITHIN_MS = 2;
/** When this thread began the work whose answers are waiting. */
let waitingSince = 0;
port.on('message', (list: ToWorker[]) => {
  for (const m of list) {
    if (answers.size === 0) waitingSince = performance.now();
    handler.handle(m);
    if (answers.size > 0 && performance.now() - waitingSince > ANSWER_WITHIN_MS) answers.send();
  }
});
answers.put({ t: 'started' });
