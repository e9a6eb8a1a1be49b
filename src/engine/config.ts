import { GavelError } from '../lib/errors.js';
import { nonEmpty, nonNegativeInt, positiveInt, positiveNumber, stripUndefined } from '../lib/config.js';

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
  /**
   * With workers: a decision whose input is at most this many bytes, arriving
   * while no other decision is being evaluated, is evaluated on the engine's own
   * thread instead (no thread hops; see adaptive-runner.ts). 0: always on a worker.
   */
  inlineMaxBytes: number;
  /** Inline evaluation stays off until the last INLINE_WINDOW evaluations each took at most this long. */
  inlineSlowMs: number;
  /**
   * The young generation of each worker's V8 heap, in MB (0: V8's default, 16 MB semi-spaces). An
   * evaluation's garbage is short-lived, so a small one costs nothing measurable and holds less:
   * 4 MB took 48 MB off a loaded server's peak RSS at the same throughput (bench/README, "Memory").
   */
  workerYoungGenerationMb: number;
  /**
   * A Decide whose (caller, request_id) was decided this recently gets the recorded answer again
   * (idempotency.ts); 0 turns it off. Requests without a request_id are always decided.
   */
  idempotencyWindowSeconds: number;
}

export const ENGINE_DEFAULTS: EngineConfig = {
  defaultEntrypoint: 'gavel/ai/decision',
  maxInputBytes: 1024 * 1024,
  maxDepth: 64,
  memoryInitialPages: 32,
  memoryMaxPages: 2048, // 128 MiB
  workers: 0,
  evaluationTimeoutMs: 10_000,
  inlineMaxBytes: 8192,
  inlineSlowMs: 5,
  workerYoungGenerationMb: 4,
  idempotencyWindowSeconds: 24 * 3600,
};

/** The longest idempotency window: a shared store keeps request ids this long (usage/postgres/store.ts). */
export const MAX_IDEMPOTENCY_WINDOW_SECONDS = 30 * 24 * 3600;

/** A young generation past this would only hold more garbage longer. */
export const MAX_YOUNG_GENERATION_MB = 256;

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
  nonNegativeInt('engine.inlineMaxBytes', c.inlineMaxBytes);
  positiveNumber('engine.inlineSlowMs', c.inlineSlowMs);
  nonNegativeInt('engine.workerYoungGenerationMb', c.workerYoungGenerationMb);
  if (c.workerYoungGenerationMb > MAX_YOUNG_GENERATION_MB) {
    throw new GavelError(
      'config_invalid',
      `config engine.workerYoungGenerationMb must be at most ${MAX_YOUNG_GENERATION_MB}, got ${c.workerYoungGenerationMb}`,
    );
  }
  nonNegativeInt('engine.idempotencyWindowSeconds', c.idempotencyWindowSeconds);
  if (c.idempotencyWindowSeconds > MAX_IDEMPOTENCY_WINDOW_SECONDS) {
    throw new GavelError(
      'config_invalid',
      `config engine.idempotencyWindowSeconds must be at most ${MAX_IDEMPOTENCY_WINDOW_SECONDS} (30 days), got ${c.idempotencyWindowSeconds}`,
    );
  }
  if (!Number.isInteger(c.workers) || c.workers < 0 || c.workers > MAX_WORKERS) {
    throw new GavelError('config_invalid', `config engine.workers must be an integer from 0 to ${MAX_WORKERS}, got ${JSON.stringify(c.workers)}`);
  }
  if (c.memoryMaxPages < c.memoryInitialPages) {
    positiveInt('engine.memoryMaxPages (>= memoryInitialPages)', -1);
  }
  return c;
}
