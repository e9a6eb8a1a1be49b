import { parentPort, workerData } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerSetup } from './protocol.js';
import { WorkerHandler } from './worker-handler.js';

/** An evaluation worker thread: the pool's messages to its handler (worker-handler.ts), the answers back. */
const port = parentPort;
if (!port) throw new Error('pool/worker.ts runs as a worker thread');
const handler = new WorkerHandler((workerData as WorkerSetup).limits, (message) => port.postMessage(message));
port.on('message', (m: ToWorker) => handler.handle(m));
port.postMessage({ t: 'started' } satisfies FromWorker);
