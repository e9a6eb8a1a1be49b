import { GavelError } from '../lib/errors.js';
import { nonEmpty, positiveInt, stripUndefined } from '../lib/config.js';

export interface EngineConfig {
  /** Entrypoint used when a request names none. */
  defaultEntrypoint: string;
  /** Largest input document accepted, in bytes. */
  maxInputBytes: number;
  /** Deepest nesting accepted in an input document. */
  maxDepth: number;
  /** Wasm memory per evaluator, in 64 KiB pages. */
  memoryInitialPages: number;
  memoryMaxPages: number;
  /**
   * Evaluation worker threads (one wasm instance each). 0 evaluates on the
   * engine's own thread; `gavel serve` defaults to one per core.
   */
  workers: number;
  /** A worker busy with one decision for longer than this is stopped and replaced; its decisions fail closed. */
  evaluationTimeoutMs: number;
}

export const ENGINE_DEFAULTS: EngineConfig = {
  defaultEntrypoint: 'gavel/ai/decision',
  maxInputBytes: 1024 * 1024,
  maxDepth: 64,
  memoryInitialPages: 32,
  memoryMaxPages: 2048, // 128 MiB
  workers: 0,
  evaluationTimeoutMs: 10_000,
};

/** Threads past this many would only contend for the same cores. */
export const MAX_WORKERS = 64;

export function engineConfig(overrides: Partial<EngineConfig> = {}): EngineConfig {
  const c = { ...ENGINE_DEFAULTS, ...stripUndefined(overrides) };
  nonEmpty('engine.defaultEntrypoint', c.defaultEntrypoint);
  positiveInt('engine.maxInputBytes', c.maxInputBytes);
  positiveInt('engine.maxDepth', c.maxDepth);
  positiveInt('engine.memoryInitialPages', c.memoryInitialPages);
  positiveInt('engine.memoryMaxPages', c.memoryMaxPages);
  positiveInt('engine.evaluationTimeoutMs', c.evaluationTimeoutMs);
  if (!Number.isInteger(c.workers) || c.workers < 0 || c.workers > MAX_WORKERS) {
    throw new GavelError('config_invalid', `config engine.workers must be an integer from 0 to ${MAX_WORKERS}, got ${JSON.stringify(c.workers)}`);
  }
  if (c.memoryMaxPages < c.memoryInitialPages) {
    positiveInt('engine.memoryMaxPages (>= memoryInitialPages)', -1);
  }
  return c;
}
