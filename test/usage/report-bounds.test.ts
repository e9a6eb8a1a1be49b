import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import type { UsageReportInput } from '../../src/usage/report.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { modelCall } from './helpers.js';

/**
 * A usage report against the decision it settles, at the exact edges of each bound (one more is
 * refused, the bound itself is not), the messages that name what is wrong, and the usage entry the
 * settlement writes, field by field. In this process, through the runtime's report face.
 */
const WHO = { subject: 'rhea', team: 'platform', costCenter: 'cc-4' };
const CALLER = 'gw-report';
let core: Runtime;

beforeAll(async () => {
  core = await startRuntime({ bundles: BUNDLES, ledger: join(tempDir('gavel-report-'), 'ledger.db'), approvals: false });
});
afterAll(() => core.stop());

async function allowed(maxTokens = 100): Promise<string> {
  const input = modelCall(WHO, 'standard-m', maxTokens, 'short prompt');
  const d = await core.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: '', caller: CALLER });
  expect(d.decision).toBe('allow');
  return d.decisionId;
}

const report = (decisionId: string, over: Partial<UsageReportInput> = {}) =>
  core.report!.report({
    decisionId,
    subject: WHO.subject,
    team: WHO.team,
    costCenter: WHO.costCenter,
    model: 'standard-m',
    inputTokens: 1000,
    outputTokens: 100,
    cost: '',
    reporter: CALLER,
    ...over,
  });

describe('usage report bounds and messages', () => {
  it('cost: exactly reportFactor x the price is accepted, one micro more is refused naming the bound', async () => {
    // standard-m: 0.003 per 1k input, 0.015 per 1k output: 1000 + 100 tokens = 0.0045; x10 = 0.045.
    await expect(report(await allowed(), { cost: '0.045001' })).rejects.toThrow(
      "cost 0.045001 is more than 10x the price table's 0.0045 for 1000+100 tokens of standard-m (bound 0.045)",
    );
    const ok = await report(await allowed(), { cost: '0.045' });
    expect(ok).toMatchObject({ cost: '0.045', tokens: 1100, duplicate: false });
  });

  it('tokens: max_tokens exactly and the input bound exactly are accepted; one more of either is refused; zero is a report', async () => {
    await expect(report(await allowed(100), { outputTokens: 101 })).rejects.toThrow(/^output_tokens 101 exceeds the max_tokens 100 decision .* allowed$/);
    await report(await allowed(100), { outputTokens: 100 });
    await expect(report(await allowed(), { inputTokens: 40_961 })).rejects.toThrow(
      "input_tokens 40961 is more than the bound 40960 (10x the decision's estimate, at least 10x4096)",
    );
    await report(await allowed(), { inputTokens: 40_960 });
    expect(await report(await allowed(), { inputTokens: 0, outputTokens: 0 })).toMatchObject({ tokens: 0, cost: '0' });
  });

  it('names what is missing or malformed, and echoes a long model name cut short', async () => {
    const id = await allowed();
    await expect(report(id, { subject: ' ', model: '' })).rejects.toThrow('usage report is missing subject, model');
    await expect(report(id, { outputTokens: -1 })).rejects.toThrow('output_tokens must be a non-negative integer, got -1');
    const long = 'm'.repeat(100);
    await expect(report(id, { model: long })).rejects.toThrow(
      `model "${'m'.repeat(64)}… (100 characters)" is not the model decision ${id} allowed (standard-m)`,
    );
    await expect(report(id, { model: 'm'.repeat(64) })).rejects.toThrow(`model "${'m'.repeat(64)}" is not the model`);
  });

  it('a denied decision cannot be reported, and says what it was', async () => {
    const input = modelCall(WHO, 'frontier-xl');
    const d = await core.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: '', caller: CALLER });
    expect(d.decision).toBe('deny');
    await expect(report(d.decisionId, { model: 'frontier-xl' })).rejects.toThrow(
      `decision ${d.decisionId} was deny for model.invoke; only an allowed model call can be reported`,
    );
  });

  it('a settlement is a usage entry whose header names the charge and nothing of a policy', async () => {
    const id = await allowed();
    await report(id, { inputTokens: 10, outputTokens: 5 });
    const [entry] = [...core.audit.query({ kind: 'usage', requestId: id })];
    expect(entry).toMatchObject({
      kind: 'usage',
      subjectId: WHO.subject,
      subjectType: '',
      team: WHO.team,
      costCenter: WHO.costCenter,
      actionType: 'usage.settled',
      resource: 'standard-m',
      decision: 'settled',
      reasonCodes: [],
      bundle: '',
      revision: '',
      digest: '',
      entrypoint: '',
      requestId: id,
      caller: CALLER,
    });
    expect(core.audit.get(entry!.decisionId)!.payload).toMatchObject({
      usage: { event: 'settled', decision_id: id, tokens: 15, input_tokens: 10, output_tokens: 5 },
    });
  });
});
