import type { EngineConfig } from '../../src/engine/config.js';
import { engineConfig } from '../../src/engine/config.js';
import type { WasmEvaluator } from '../../src/engine/evaluator.js';
import { WorkerPool } from '../../src/engine/pool/worker-pool.js';
import type { Job } from '../../src/engine/runner.js';

/** A started WorkerPool with these bundles active, closed after the body whatever it did. */
export async function withPool(
  active: WasmEvaluator[],
  body: (pool: WorkerPool) => Promise<void>,
  options: Partial<EngineConfig> = { workers: 1 },
): Promise<void> {
  const pool = new WorkerPool(engineConfig(options));
  pool.activate(active);
  try {
    await pool.ready();
    await body(pool);
  } finally {
    await pool.close();
  }
}

/** A decision with this JSON input prepared on the pool. */
export function prepareInput(pool: WorkerPool, input: unknown): Promise<Job> {
  return pool.prepare({ input: { json: Buffer.from(JSON.stringify(input)) }, requestId: 'r-1', caller: 'test' });
}
