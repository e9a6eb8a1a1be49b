import { describe, expect, it } from 'vitest';
import { systemRecord } from '../../src/engine/ledger.js';
import { canonicalJson } from '../../src/lib/canonical.js';

/** An entry gavel writes about itself: no subject, team or request; gavel as its caller unless told. */
describe('systemRecord', () => {
  const now = new Date('2026-12-06T12:00:00.000Z');

  it('leaves every subject, request and policy field empty, with gavel as the caller', () => {
    const r = systemRecord({ kind: 'policy', actionType: 'policy.activate', decision: 'activated' }, { b: 1, a: [2] }, now);
    const { decisionId, salt, ...rest } = r;
    expect(rest).toEqual({
      time: '2026-12-06T12:00:00.000Z',
      subjectId: '',
      subjectType: '',
      team: '',
      costCenter: '',
      resource: '',
      reasonCodes: [],
      bundle: '',
      revision: '',
      digest: '',
      entrypoint: '',
      requestId: '',
      caller: 'gavel',
      kind: 'policy',
      actionType: 'policy.activate',
      decision: 'activated',
      payloadJcs: canonicalJson({ a: [2], b: 1 }),
    });
    expect(decisionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(salt).toHaveLength(16);
  });

  it('takes the fields it is given over the empty ones, and a new id and salt each time', () => {
    const fields = {
      kind: 'policy',
      actionType: 'policy.activate',
      decision: 'activated',
      bundle: 'ai',
      revision: 'r1',
      digest: 'sha256:00',
      resource: 'ai',
      reasonCodes: ['started'],
      caller: 'ops',
    } as const;
    const a = systemRecord({ ...fields, reasonCodes: [...fields.reasonCodes] }, {}, now);
    const b = systemRecord({ ...fields, reasonCodes: [...fields.reasonCodes] }, {}, now);
    expect(a).toMatchObject({ bundle: 'ai', revision: 'r1', digest: 'sha256:00', resource: 'ai', reasonCodes: ['started'], caller: 'ops' });
    expect(a.decisionId).not.toBe(b.decisionId);
    expect(Buffer.from(a.salt).equals(Buffer.from(b.salt))).toBe(false);
  });
});
