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
}

export const ENGINE_DEFAULTS: EngineConfig = {
  defaultEntrypoint: 'gavel/ai/decision',
  maxInputBytes: 1024 * 1024,
  maxDepth: 64,
  memoryInitialPages: 32,
  memoryMaxPages: 2048, // 128 MiB
};

export function engineConfig(overrides: Partial<EngineConfig> = {}): EngineConfig {
  const c = { ...ENGINE_DEFAULTS, ...stripUndefined(overrides) };
  nonEmpty('engine.defaultEntrypoint', c.defaultEntrypoint);
  positiveInt('engine.maxInputBytes', c.maxInputBytes);
  positiveInt('engine.maxDepth', c.maxDepth);
  positiveInt('engine.memoryInitialPages', c.memoryInitialPages);
  positiveInt('engine.memoryMaxPages', c.memoryMaxPages);
  if (c.memoryMaxPages < c.memoryInitialPages) {
    positiveInt('engine.memoryMaxPages (>= memoryInitialPages)', -1);
  }
  return c;
}
