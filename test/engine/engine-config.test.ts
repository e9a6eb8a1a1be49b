import { describe, expect, it } from 'vitest';
import { ENGINE_DEFAULTS, engineConfig, MAX_IDEMPOTENCY_WINDOW_SECONDS, MAX_WORKERS, MAX_YOUNG_GENERATION_MB } from '../../src/engine/config.js';
import { refusalOf } from '../helpers/refusal.js';

/** The engine's config owns its bounds: each refusal is config_invalid and names the key, the bound and the value. */
const refusal = (overrides: Parameters<typeof engineConfig>[0]) => refusalOf(() => engineConfig(overrides));

describe('engineConfig', () => {
  it('takes every bound itself (the largest young generation, window and worker count are accepted)', () => {
    const c = engineConfig({
      workerYoungGenerationMb: MAX_YOUNG_GENERATION_MB,
      idempotencyWindowSeconds: MAX_IDEMPOTENCY_WINDOW_SECONDS,
      workers: MAX_WORKERS,
      memoryInitialPages: 8,
      memoryMaxPages: 8,
    });
    expect(c).toMatchObject({ workerYoungGenerationMb: 256, idempotencyWindowSeconds: 30 * 24 * 3600, workers: 64, memoryMaxPages: 8 });
    expect(engineConfig({ workers: 0 }).workers).toBe(0);
  });

  it('refuses a young generation past its bound', () => {
    const err = refusal({ workerYoungGenerationMb: MAX_YOUNG_GENERATION_MB + 1 });
    expect(err.code).toBe('config_invalid');
    expect(err.message).toBe('config engine.workerYoungGenerationMb must be at most 256, got 257');
  });

  it('refuses an idempotency window longer than 30 days', () => {
    const err = refusal({ idempotencyWindowSeconds: MAX_IDEMPOTENCY_WINDOW_SECONDS + 1 });
    expect(err.code).toBe('config_invalid');
    expect(err.message).toBe('config engine.idempotencyWindowSeconds must be at most 2592000 (30 days), got 2592001');
  });

  it.each([-1, MAX_WORKERS + 1, 1.5])('refuses %s workers', (workers) => {
    const err = refusal({ workers });
    expect(err.code).toBe('config_invalid');
    expect(err.message).toBe(`config engine.workers must be an integer from 0 to 64, got ${JSON.stringify(workers)}`);
  });

  it('refuses a wasm memory whose maximum is below its initial size', () => {
    const err = refusal({ memoryInitialPages: 16, memoryMaxPages: 15 });
    expect(err.code).toBe('config_invalid');
    expect(err.message).toBe('config engine.memoryMaxPages (>= memoryInitialPages) must be a positive integer, got -1');
  });

  it('keeps the defaults where nothing is given', () => {
    expect(engineConfig()).toEqual(ENGINE_DEFAULTS);
  });
});
