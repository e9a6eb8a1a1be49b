import { parentPort, workerData } from 'node:worker_threads';
import { GavelError } from '../../lib/errors.js';
import { WasmEvaluator } from '../evaluator.js';
import { evaluateDecision, prepareDecision, shadowOutcome, type Prepared } from '../stages.js';
import type { FromWorker, ToWorker, WireFault, WorkerSetup } from './protocol.js';

/**
 * An evaluation worker: parses and evaluates decisions with its own wasm
 * instance of each active bundle. It keeps a prepared input until the engine
 * evaluates or drops it; nothing here touches the ledger or usage state.
 */

const port = parentPort;
if (!port) throw new Error('pool/worker.ts runs as a worker thread');
const { limits } = workerData as WorkerSetup;
const evaluators = new Map<string, WasmEvaluator>();
const prepared = new Map<number, Prepared>();

function reply(message: FromWorker): void {
  port!.postMessage(message);
}

function fault(err: unknown): WireFault {
  if (err instanceof GavelError) return { code: err.code, message: err.message, gavel: true };
  return { code: 'internal', message: err instanceof Error ? err.message : String(err), gavel: false };
}

function handle(m: ToWorker): void {
  switch (m.t) {
    case 'load':
      evaluators.set(m.load.key, new WasmEvaluator({ ...m.load.bundle, wasm: new Uint8Array(0) }, limits, m.load.module));
      return;
    case 'drop-bundle':
      evaluators.delete(m.key);
      return;
    case 'prepare': {
      const p = prepareDecision(m.req, limits);
      prepared.set(m.id, p);
      reply({ t: 'prepared', id: m.id, value: { header: p.header, facts: p.facts, binding: p.binding, ...(p.recalled ? { recalled: p.recalled } : {}) } });
      return;
    }
    case 'evaluate': {
      // Kept until the engine drops it: a decision whose usage went stale is evaluated again.
      const p = prepared.get(m.id);
      const evaluator = evaluators.get(m.key);
      if (!p || !evaluator) throw new Error(`worker has no ${p ? `bundle ${m.key}` : `prepared decision ${m.id}`}`);
      const started = performance.now();
      const value = evaluateDecision(evaluator, p, m.req);
      reply({ t: 'evaluated', id: m.id, value, ms: performance.now() - started });
      return;
    }
    case 'shadow': {
      const p = prepared.get(m.id);
      const evaluator = evaluators.get(m.key);
      if (!p || !evaluator) throw new Error(`worker has no ${p ? `bundle ${m.key}` : `prepared decision ${m.id}`}`);
      reply({ t: 'shadowed', id: m.id, value: shadowOutcome(evaluator, p, m.req) });
      return;
    }
    case 'drop':
      prepared.delete(m.id);
      return;
    case 'ping':
      reply({ t: 'pong', id: m.id, census: { held: prepared.size, bundles: evaluators.size } });
      return;
  }
}

port.on('message', (m: ToWorker) => {
  try {
    handle(m);
  } catch (err) {
    if ('id' in m && m.t !== 'drop') reply({ t: 'fault', id: m.id, fault: fault(err) });
  }
});
reply({ t: 'started' });
