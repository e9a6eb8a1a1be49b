import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { GavelError } from '../../src/lib/errors.js';
import { BUNDLES, FIXTURE_BUNDLES } from '../helpers/paths.js';
import { payloadText } from '../helpers/payloads.js';

/** Removed values must appear nowhere: not in the answer, not in the ledger. */
let core: Runtime;
let fixtures: Runtime;
beforeAll(async () => {
  core = await startRuntime({ bundles: BUNDLES, ledger: ':memory:', usage: false });
  fixtures = await startRuntime({ bundles: FIXTURE_BUNDLES, ledger: ':memory:', engine: { defaultEntrypoint: 'fixtures/echo' }, usage: false });
});
afterAll(async () => {
  await core.stop();
  await fixtures.stop();
});

async function everywhere(c: Runtime, input: unknown): Promise<string> {
  const d = await c.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: '', caller: 't' });
  return JSON.stringify(d) + payloadText(c.parts.ledger.db, d.receipt.seq);
}

const employee = { id: 'alice', type: 'user', roles: ['employee'], team: 'platform', cost_center: 'cc-100' };
const invoke = (prompt: string, params: Record<string, unknown> = {}) => ({
  subject: employee,
  action: { type: 'model.invoke', model: 'standard-m', params: { max_tokens: 10, ...params } },
  content: { prompt },
  context: { environment: 'prod' },
});

describe('reference policy', () => {
  it('a phone number that also appears inside an email address is masked in both places', async () => {
    const all = await everywhere(core, invoke('Call me on 555-123-4567, or write to x555-123-4567@example.com'));
    expect(all).not.toContain('555-123-4567');
    expect(all).toContain('[REDACTED:email]');
    expect(all).toContain('[REDACTED:phone]');
  });

  it('a matched value repeated in a field the policy does not scan is masked there too', async () => {
    const all = await everywhere(core, invoke('mail jane.doe@example.com', { reply_to: 'jane.doe@example.com', note: 'cc jane.doe@example.com' }));
    expect(all).not.toContain('jane.doe@example.com');
  });
});

describe('any policy', () => {
  it('a whole-field redaction value echoed in a reason or an obligation is scrubbed', async () => {
    const all = await everywhere(fixtures, {
      content: { ssn: '078-05-1120' },
      result: {
        decision: 'allow',
        reasons: [{ code: 'x', message: 'redacted ssn 078-05-1120', rule: 'r' }],
        redactions: [{ path: '/content/ssn', kind: 'national_id' }],
        obligations: { note: '078-05-1120' },
      },
    });
    // The echo fixture carries the policy result inside its input; that copy is masked too.
    expect(all).not.toContain('078-05-1120');
  });
});

describe('values a ledger cannot hash faithfully are refused', () => {
  it.each([
    ['a number out of range', '{"subject":{"id":"a"},"n":1e999}', 'out of range'],
    ['a lone surrogate', '{"subject":{"id":"mallory\\ud800"}}', 'lone UTF-16 surrogate'],
  ])('%s', async (_name, text, message) => {
    const before = core.parts.ledger.size;
    const err = await core.decide({ policy: '', input: { json: Buffer.from(text) }, requestId: '', caller: 't' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GavelError);
    expect((err as GavelError).code).toBe('invalid_input');
    expect((err as GavelError).message).toContain(message);
    expect(core.parts.ledger.size).toBe(before);
  });

  it('a record that cannot be canonicalised fails alone, not the decisions sharing its group commit', async () => {
    const record = (payload: Record<string, unknown>) => ({
      decisionId: crypto.randomUUID(),
      time: new Date().toISOString(),
      subjectId: 's',
      subjectType: 'user',
      team: 't',
      costCenter: 'c',
      actionType: 'model.invoke',
      resource: 'm',
      decision: 'allow',
      reasonCodes: [],
      bundle: 'b',
      revision: 'r',
      digest: 'd',
      entrypoint: 'e',
      requestId: '',
      caller: 't',
      payload: payload as never,
      salt: new Uint8Array(16),
    });
    const results = await Promise.allSettled([
      core.parts.ledger.append(record({ ok: 1 })),
      core.parts.ledger.append(record({ bad: Number.POSITIVE_INFINITY })),
      core.parts.ledger.append(record({ ok: 2 })),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});
