import { parentPort, workerData } from 'node:worker_threads';
import { WasmEvaluator } from '../evaluator.js';
import { answerBatch, type ReplayWorkerSetup, type ToReplayWorker } from './protocol.js';
import { batchReplayer } from './replay-one.js';

/** A replay worker: evaluates batches of recorded decisions with its own instance of the candidate. */
const port = parentPort;
if (!port) throw new Error('replay-worker.ts runs as a worker thread');
const setup = workerData as ReplayWorkerSetup;
const replay = batchReplayer(setup.bundle, new WasmEvaluator({ ...setup.bundle, wasm: new Uint8Array(0) }, setup.limits, setup.module), setup.entrypoint);
port.on('message', (m: ToReplayWorker) => port.postMessage(answerBatch(replay, m)));
