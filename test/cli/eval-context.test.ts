import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SAMPLES, tempDir } from '../helpers/paths.js';
import { loadSamples, usageIndependent } from '../helpers/samples.js';
import { runCli } from '../helpers/server.js';

/**
 * `gavel eval` without a ledger file has no usage state: the input's own
 * context.usage and context.history reach the policy, so every sample gives
 * its expected outcome. With --ledger, usage is read from that file and
 * replaces them, as `gavel serve` does.
 */
const eval_ = async (...args: string[]) => {
  const r = await runCli(['eval', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { decision: string; reasons: Array<{ code: string }>; obligations: Record<string, unknown> };
};

describe('gavel eval and the input context', () => {
  const dependent = loadSamples().filter((s) => !usageIndependent(s));

  it('there are samples that depend on usage or history', () => {
    expect(dependent.map((s) => s.file)).toEqual(
      expect.arrayContaining(['team-budget-exhausted-denied.json', 'team-tier-down-standard.json', 'tool-rate-limited-denied.json']),
    );
  });

  it.each(dependent.map((s) => [s.file, s] as const))('%s gives its expected outcome', async (file, s) => {
    const d = await eval_('--input', join(SAMPLES, file));
    expect(d.decision).toBe(s.expect.decision);
    for (const code of s.expect.codes) expect(d.reasons.map((r) => r.code)).toContain(code);
    if (s.expect.obligations) expect(d.obligations).toMatchObject(s.expect.obligations);
  });

  it('with --ledger the usage comes from the ledger: a fresh one has none, so the budget sample is allowed', async () => {
    const d = await eval_('--input', join(SAMPLES, 'team-budget-exhausted-denied.json'), '--ledger', join(tempDir(), 'l.db'));
    expect(d.decision).toBe('allow');
  });
});
