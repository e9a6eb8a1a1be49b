import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { BUNDLES } from '../helpers/paths.js';
import { loadSamples } from '../helpers/samples.js';

/**
 * Every shared sample payload through the real engine and the committed ai
 * bundle. Metering is off here so that a sample's own context.usage/history
 * (the budget rungs) and context.approval reach the policy unchanged; test/usage and test/approvals cover the
 * service supplying them.
 */
let core: Runtime;
beforeAll(async () => {
  core = await startRuntime({ bundles: BUNDLES, ledger: ':memory:', usage: false, approvals: false });
});
afterAll(() => core.stop());

const samples = loadSamples();

describe('reference policy samples', () => {
  it('there is a sample of every decision kind', () => {
    const kinds = new Set(samples.map((s) => s.expect.decision));
    expect([...kinds].sort()).toEqual(['allow', 'deny', 'redact', 'require_approval']);
  });

  it.each(samples.map((s) => [s.file, s] as const))('%s', async (_file, s) => {
    const d = await core.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(s.input)) }, requestId: s.name, caller: 'test' });
    expect(d.decision).toBe(s.expect.decision);
    const codes = d.reasons.map((r) => r.code);
    for (const code of s.expect.codes) expect(codes).toContain(code);
    for (const r of d.reasons) expect(r.rule, `reason ${r.code} names its rule`).not.toBe('');
    if (s.expect.obligations) expect(d.obligations).toMatchObject(s.expect.obligations);
    if (s.expect.redactions) {
      expect(d.redactions.map((r) => `${r.path} ${r.kind}`).sort()).toEqual([...new Set(s.expect.redactions.map((r) => `${r.path} ${r.kind}`))].sort());
      const answer = JSON.stringify(d);
      for (const r of s.expect.redactions) if (r.match) expect(answer).not.toContain(r.match);
    }
    expect(d.policy.bundle).toBe('ai');
    expect(d.policy.revision).toMatch(/^ai-[0-9a-f]{12}$/);
    expect(d.policy.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
