import { describe, expect, it } from 'vitest';
import { ledgerRecord, type RecordParts } from '../../src/engine/record.js';

/** The decision's entry: header fields as received, the payload with what was stored and why it differs from the input. */
function parts(over: Partial<RecordParts> = {}): RecordParts {
  return {
    decisionId: 'd-1',
    now: new Date('2026-12-06T12:00:00.000Z'),
    header: {
      subjectId: 'alice',
      subjectType: 'user',
      team: 'search',
      costCenter: 'cc-1',
      actionType: 'model.invoke',
      resource: 'gpt-x',
      requestId: 'req-1',
      caller: 'gw',
    },
    stored: { prompt: 'hello' },
    outcome: { decision: 'allow', reasons: [{ code: 'ok', message: 'fine', rule: 'r', effect: 'allow' }], redactions: [], obligations: {}, sensitivePaths: [] },
    applied: [],
    hashed: [],
    policy: { bundle: 'ai', revision: 'r1', digest: 'sha256:00' },
    entrypoint: 'ai/decision',
    salt: new Uint8Array(16),
    ...over,
  };
}

const payloadOf = (p: RecordParts) => JSON.parse(ledgerRecord(p).payloadJcs ?? 'null') as { result: Record<string, unknown> };

describe('ledgerRecord', () => {
  it('says the stored input was altered when a path was stored as its hash, even with nothing redacted', () => {
    const result = payloadOf(parts({ hashed: ['/user/email'], stored: { user: { email: { sha256: 'f' } } } })).result;
    expect(result.input_altered).toBe(true);
    expect(result.hashed_paths).toEqual(['/user/email']);
  });

  it('says so when the policy redacted, and says nothing when the input is stored as it came', () => {
    const redacting = parts({
      outcome: { ...parts().outcome, redactions: [{ path: '/prompt', kind: 'pii' }] },
    });
    expect(payloadOf(redacting).result.input_altered).toBe(true);
    const plain = payloadOf(parts()).result;
    expect(plain).not.toHaveProperty('input_altered');
    expect(plain).not.toHaveProperty('hashed_paths');
  });
});
