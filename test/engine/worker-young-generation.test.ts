import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { engineConfig } from '../../src/engine/config.js';
import { WorkerPool } from '../../src/engine/pool/worker-pool.js';
import { GavelError } from '../../src/lib/errors.js';

/**
 * Each evaluation worker's V8 young generation (engine/config.ts workerYoungGenerationMb): 4 MB by
 * default, which held 48 MB less under load at the same throughput (bench/README, "Memory"); 0 leaves
 * V8's own. Read from the workers the pool started.
 */
function workersOf(pool: WorkerPool): Worker[] {
  return (pool as unknown as { slots: Array<{ worker: Worker }> }).slots.map((s) => s.worker);
}

async function youngOf(config: Parameters<typeof engineConfig>[0]): Promise<number[]> {
  const pool = new WorkerPool(engineConfig({ workers: 2, ...config }));
  try {
    await pool.ready();
    return workersOf(pool).map((w) => w.resourceLimits?.maxYoungGenerationSizeMb ?? Number.NaN);
  } finally {
    await pool.close();
  }
}

describe("evaluation workers' young generation", () => {
  it('is 4 MB by default, as configured otherwise, and V8 sizes it when 0', async () => {
    expect(await youngOf({})).toEqual([4, 4]);
    expect(await youngOf({ workerYoungGenerationMb: 16 })).toEqual([16, 16]);
    const own = await youngOf({ workerYoungGenerationMb: 0 });
    expect(own.every((mb) => mb > 16)).toBe(true);
  });

  it('a size that is not a whole number of MB from 0 to 256 is refused', () => {
    for (const bad of [-1, 1.5, 257]) {
      expect(() => engineConfig({ workerYoungGenerationMb: bad })).toThrow(GavelError);
    }
  });
});
