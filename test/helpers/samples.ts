import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SAMPLES } from './paths.js';

/** A shared sample payload: the same files feed Rego-adjacent tests, engine tests and benchmarks. */
export interface Sample {
  file: string;
  name: string;
  input: Record<string, unknown>;
  expect: {
    decision: string;
    codes: string[];
    obligations?: Record<string, unknown>;
    redactions?: Array<{ path: string; kind: string; match?: string }>;
    sensitive_paths?: string[];
  };
}

export function loadSamples(): Sample[] {
  return readdirSync(SAMPLES)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, ...(JSON.parse(readFileSync(join(SAMPLES, file), 'utf8')) as Omit<Sample, 'file'>) }));
}

export function sample(file: string): Sample {
  const found = loadSamples().find((s) => s.file === file || s.file === `${file}.json`);
  if (!found) throw new Error(`no sample ${file}`);
  return found;
}

/** Samples whose outcome does not depend on usage, history or an approval the service would supply itself. */
export function usageIndependent(s: Sample): boolean {
  const ctx = (s.input.context ?? {}) as Record<string, unknown>;
  return !('usage' in ctx) && !('history' in ctx) && !('approval' in ctx);
}
