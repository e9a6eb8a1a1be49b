import type { Bundle } from '../../bundles/bundle.js';
import type { EvaluatorLimits } from '../evaluator.js';
import { errorMessage } from '../../lib/errors.js';
import type { ReplayItem, ReplayResult } from './replay-one.js';

/** What a replay worker is started with: the candidate, its module compiled once by the replayer. */
export interface ReplayWorkerSetup {
  bundle: Omit<Bundle, 'wasm'>;
  module: WebAssembly.Module;
  limits: EvaluatorLimits;
  entrypoint?: string;
}

export type ToReplayWorker = { t: 'batch'; id: number; items: ReplayItem[] };

export type FromReplayWorker = { t: 'done'; id: number; results: ReplayResult[] } | { t: 'fault'; id: number; message: string };

/** A replay worker's answer to a batch: its results in order, or the fault that stopped it. */
export function answerBatch(replay: (items: ReplayItem[]) => ReplayResult[], m: ToReplayWorker): FromReplayWorker {
  try {
    return { t: 'done', id: m.id, results: replay(m.items) };
  } catch (err) {
    return { t: 'fault', id: m.id, message: errorMessage(err) };
  }
}
