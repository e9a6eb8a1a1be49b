import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withScanView } from '../../src/engine/scan-view.js';
import { ROOT } from '../helpers/paths.js';
import { loadSamples } from '../helpers/samples.js';

/**
 * policies/ai/samples_test.rego judges each sample in `opa test`, which knows
 * nothing of gavel: each test's input must be the sample's input as the policy
 * receives it, with the context.scan gavel adds where it normalises text.
 */
const rego = readFileSync(join(ROOT, 'policies/ai/samples_test.rego'), 'utf8');

function regoInput(file: string): unknown {
  const test = `test_sample_${file.replace(/\.json$/, '').replace(/-/g, '_')}`;
  const m = new RegExp(`^${test} if \\{\\n\\td := decide\\((.*)\\)$`, 'm').exec(rego);
  if (!m) throw new Error(`samples_test.rego has no ${test} calling decide(...)`);
  return JSON.parse(m[1]!);
}

describe('samples_test.rego', () => {
  it.each(loadSamples().map((s) => [s.file, s] as const))('%s: same input as the policy receives it', (file, s) => {
    expect(regoInput(file)).toEqual(withScanView(s.input as Parameters<typeof withScanView>[0]));
  });
});
