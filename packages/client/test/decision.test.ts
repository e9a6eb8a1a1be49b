import { describe, expect, it } from 'vitest';
import type { DecideResponse__Output } from '../src/gen/gavel/v1/DecideResponse.js';
import { Decision, GavelError } from '../src/index.js';

/** A DecideResponse as the loader decodes it (defaults filled in), with these fields. */
function response(over: Partial<DecideResponse__Output> = {}): DecideResponse__Output {
  return {
    decision_id: 'd-1',
    decision: 'DECISION_ALLOW',
    reasons: [],
    redacted_input_json: Buffer.alloc(0),
    redactions: [],
    obligations_json: Buffer.alloc(0),
    policy: null,
    receipt: null,
    request_id: 'r-1',
    entrypoint: 'gavel/ai/decision',
    evaluated_at: '2026-01-01T00:00:00Z',
    approval: null,
    replayed: false,
    ...over,
  };
}
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const asking = (model: unknown) => ({ action: { type: 'model.invoke', model } });

describe('Decision from a DecideResponse', () => {
  it('model: the route obligation first, then the redacted input, then the input sent', () => {
    expect(new Decision(response({ obligations_json: json({ route: { model: 'economy-s' } }) }), asking('frontier-xl')).model).toBe('economy-s');
    expect(new Decision(response({ redacted_input_json: json(asking('standard-m')) }), asking('other')).model).toBe('standard-m');
    expect(new Decision(response(), asking('standard-m')).model).toBe('standard-m');
    expect(new Decision(response(), json(asking('economy-s'))).model).toBe('economy-s');
    expect(new Decision(response(), Buffer.from('not json')).model).toBeUndefined();
    expect(new Decision(response(), { action: { type: 'tool.call', tool: 'x' } }).model).toBeUndefined();
    expect(new Decision(response({ obligations_json: json({ route: { model: 7 } }) }), asking(5)).model).toBeUndefined();
  });

  it('absent parts: obligations {}, no redacted input, no approval, an empty receipt and policy', () => {
    const d = new Decision(response(), {});
    expect([d.obligations, d.redactedInput, d.approval, d.receipt, d.policy]).toEqual([
      {},
      undefined,
      undefined,
      { seq: 0, entryHash: '', leafIndex: 0 },
      { bundle: '', revision: '', digest: '' },
    ]);
  });

  it('replayed: the recorded answer to a request id already decided', () => {
    expect(new Decision(response({ replayed: true }), {}).replayed).toBe(true);
    expect(new Decision(response(), {}).replayed).toBe(false);
  });

  it('every outcome, and isAllowed() only for allow', () => {
    const outcomes = ['DECISION_ALLOW', 'DECISION_DENY', 'DECISION_REQUIRE_APPROVAL', 'DECISION_REDACT'] as const;
    const ds = outcomes.map((decision) => new Decision(response({ decision }), {}));
    expect(ds.map((d) => [d.outcome, d.isAllowed()])).toEqual([
      ['allow', true],
      ['deny', false],
      ['require_approval', false],
      ['redact', false],
    ]);
  });

  it('an outcome the client does not know is an error (internal), never a decision', () => {
    expect(() => new Decision(response({ decision: 'DECISION_UNSPECIFIED' }), {})).toThrow(GavelError);
    expect(() => new Decision(response({ decision: 'DECISION_UNSPECIFIED' }), {})).toThrow(/DECISION_UNSPECIFIED/);
  });
});
