import { parseArgs } from 'node:util';

/**
 * Flag parsing shared by every bench script. Every value arrives as a string
 * (or boolean for switches) and is converted here, so a typo such as
 * `--seconds ten` stops the run instead of silently benchmarking for NaN seconds.
 */
export interface FlagSpec {
  [name: string]: { type: 'string' | 'boolean'; default?: string | boolean };
}

export type FlagValues = Record<string, string | boolean | undefined>;

export function readFlags(spec: FlagSpec, argv = process.argv.slice(2)): FlagValues {
  const { values } = parseArgs({ args: argv, options: spec, strict: true, allowPositionals: false });
  return values as FlagValues;
}

export function numberFlag(values: FlagValues, name: string, fallback: number, { min = 0, integer = false } = {}): number {
  const raw = values[name];
  if (raw === undefined || raw === false) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${String(raw)}`);
  }
  return n;
}

export function stringFlag(values: FlagValues, name: string): string | undefined {
  const raw = values[name];
  return typeof raw === 'string' ? raw : undefined;
}

export function boolFlag(values: FlagValues, name: string): boolean {
  return values[name] === true;
}

/** The flags every measuring script accepts; run.ts passes them down to each child. */
export const COMMON_FLAGS: FlagSpec = {
  seconds: { type: 'string' },
  warmup: { type: 'string' },
  concurrency: { type: 'string' },
  out: { type: 'string' },
};

export interface CommonOptions {
  seconds: number;
  warmupSeconds: number;
  concurrency: number;
  /** Where to write the JSON result for run.ts; absent when run by hand. */
  out: string | undefined;
}

export function commonOptions(values: FlagValues, defaults: { seconds: number; warmup: number; concurrency?: number }): CommonOptions {
  return {
    seconds: numberFlag(values, 'seconds', defaults.seconds, { min: 0.1 }),
    warmupSeconds: numberFlag(values, 'warmup', defaults.warmup),
    concurrency: numberFlag(values, 'concurrency', defaults.concurrency ?? 32, { min: 1, integer: true }),
    out: stringFlag(values, 'out'),
  };
}
