import { AdaptiveRunner } from './adaptive-runner.js';
import type { EngineConfig } from './config.js';
import { WorkerPool } from './pool/worker-pool.js';
import { InlineRunner, type DecisionRunner } from './runner.js';

/** The runner the engine decides on, with what the runtime reports about it. */
export interface PickedRunner {
  runner: DecisionRunner;
  /** Largest input a lone decision may have to be evaluated on the I/O thread although workers run (0: none, or no workers). */
  inlineMaxBytes: number;
  /** Decisions evaluated on the I/O thread while workers ran (lone small ones); 0 without workers. */
  inlineEvaluations(): number;
}

/**
 * Workers when configured, with lone small decisions on this thread (adaptive-runner.ts); this
 * thread alone without. Each evaluator gets the configured wasm memory.
 */
export function pickRunner(config: EngineConfig): PickedRunner {
  const inline = new InlineRunner({ maxInputBytes: config.maxInputBytes, maxDepth: config.maxDepth });
  const none = () => 0;
  if (config.workers === 0) return { runner: inline, inlineMaxBytes: 0, inlineEvaluations: none };
  if (config.inlineMaxBytes === 0) return { runner: new WorkerPool(config), inlineMaxBytes: 0, inlineEvaluations: none };
  let adaptive: AdaptiveRunner | undefined;
  const pool = new WorkerPool({ ...config, onEvaluated: (ms) => adaptive?.observe(ms) });
  adaptive = new AdaptiveRunner(pool, inline, config);
  const picked = adaptive;
  return { runner: picked, inlineMaxBytes: config.inlineMaxBytes, inlineEvaluations: () => picked.inlined };
}
