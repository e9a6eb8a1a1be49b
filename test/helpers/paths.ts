import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BUNDLES = join(ROOT, 'bundles');
export const FIXTURE_BUNDLES = join(ROOT, 'test/fixtures/bundles');
export const SAMPLES = join(ROOT, 'policies/ai/samples');
export const GAVEL_BIN = join(ROOT, 'bin/gavel.mjs');

/** A fresh temporary folder for ledger files; tests never write under data/. */
export function tempDir(prefix = 'gavel-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
