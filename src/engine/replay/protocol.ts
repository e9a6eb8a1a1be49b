import type { Bundle } from '../../bundles/bundle.js';
import type { EvaluatorLimits } from '../evaluator.js';
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
