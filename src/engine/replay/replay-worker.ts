import { parentPort, workerData } from 'node:worker_threads';
import { WasmEvaluator } from '../evaluator.js';
import type { FromReplayWorker, ReplayWorkerSetup, ToReplayWorker } from './protocol.js';
import { replayOne } from './replay-one.js';

/** A replay worker: evaluates batches of recorded decisions with its own instance of the candidate. */
const port = parentPort;
if (!port) throw new Error('replay-worker.ts runs as a worker thread');
const setup = workerData as ReplayWorkerSetup;
const evaluator = new WasmEvaluator({ ...setup.bundle, wasm: new Uint8Array(0) }, setup.limits, setup.module);
const candidate = (entrypoint: string) => (setup.bundle.entrypoints.includes(entrypoint) ? evaluator : undefined);

port.on('message', (m: ToReplayWorker) => {
  let reply: FromReplayWorker;
  try {
    reply = { t: 'done', id: m.id, results: m.items.map((item) => replayOne(candidate, item, setup.entrypoint)) };
  } catch (err) {
    reply = { t: 'fault', id: m.id, message: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
