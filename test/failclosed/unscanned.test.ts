import { describe, expect, it } from 'vitest';
import { startRuntime } from '../../src/runtime.js';
import { BUNDLES, FIXTURE_BUNDLES } from '../helpers/paths.js';
import { payloadText } from '../helpers/payloads.js';

/** Content the policy never scanned is never stored; content of any shape is metered. */
describe('unscanned content', () => {
  it('when evaluation traps, the stored input keeps no content or params (they were never scanned)', async () => {
    const core = await startRuntime({
      bundles: FIXTURE_BUNDLES,
      ledger: ':memory:',
      usage: false,
      engine: { defaultEntrypoint: 'fixtures/hungry', memoryInitialPages: 4, memoryMaxPages: 16 },
    });
    try {
      const input = {
        n: 100_000,
        subject: { id: 'trapper' },
        action: { type: 'tool.call', tool: 't', params: { note: 'wire 4111111111111111 now' } },
        content: { prompt: 'mail jane.doe@example.com' },
      };
      const d = await core.decide({ policy: '', input: { value: input }, requestId: '', caller: 't' });
      expect(d.reasons.map((r) => r.code)).toEqual(['evaluation_error']);
      const stored = payloadText(core.parts.ledger.db, d.receipt.seq);
      for (const text of [JSON.stringify(d), stored]) {
        expect(text).not.toContain('jane.doe@example.com');
        expect(text).not.toContain('4111111111111111');
      }
      expect(d.redactions).toEqual([
        { path: '/content', kind: 'unscanned' },
        { path: '/action/params', kind: 'unscanned' },
      ]);
      expect(core.parts.ledger.get(d.decisionId)).toMatchObject({ subjectId: 'trapper' });
    } finally {
      await core.stop();
    }
  });

  it('a prompt sent as messages is estimated and reserved like a string prompt', async () => {
    const core = await startRuntime({ bundles: BUNDLES, ledger: ':memory:' });
    try {
      const subject = { id: 'chatty', type: 'user', roles: ['employee'], team: 'platform', cost_center: 'cc-100' };
      const action = { type: 'model.invoke', model: 'standard-m', params: { max_tokens: 10 } };
      const asMessages = await core.decide({
        policy: '',
        input: {
          value: {
            subject,
            action,
            content: { system: 's'.repeat(400), messages: [{ role: 'user', content: 'x'.repeat(3600) }] },
            context: { environment: 'prod' },
          },
        },
        requestId: '',
        caller: 't',
      });
      const asPrompt = await core.decide({
        policy: '',
        input: { value: { subject, action, content: { prompt: 'x'.repeat(4004) }, context: { environment: 'prod' } } },
        requestId: '',
        caller: 't',
      });
      expect(asMessages.decision).toBe('allow');
      const a = await core.parts.usage!.charge(asMessages.decisionId);
      const b = await core.parts.usage!.charge(asPrompt.decisionId);
      // Every string counts: 400 + 3600 characters of text and the 4 of "user", at ~4 characters a token.
      expect(a?.estimatedInputTokens).toBe(1001);
      expect(a?.tokens).toBe(1001 + 10);
      expect(a?.tokens).toBe(b?.tokens);
    } finally {
      await core.stop();
    }
  });
});
