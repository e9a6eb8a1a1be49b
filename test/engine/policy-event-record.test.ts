import { describe, expect, it } from 'vitest';
import { policyEventRecord } from '../../src/engine/policy-event.js';

/** A change of the live policy as its ledger entry: header and payload, for each result. */
describe('policyEventRecord', () => {
  const now = new Date('2026-12-06T12:00:00.000Z');

  it('an activation: the bundle, revision and digest in the header; source, signer and entrypoints in the payload', () => {
    const r = policyEventRecord(
      { result: 'activated', bundle: 'ai', revision: 'r2', digest: 'sha256:0a', entrypoints: ['ai/decision'], source: 'folder:bundles', signer: 'k1' },
      now,
    );
    expect(r).toMatchObject({
      kind: 'policy',
      actionType: 'policy.activated',
      resource: 'ai',
      decision: 'activated',
      reasonCodes: [],
      bundle: 'ai',
      revision: 'r2',
      digest: 'sha256:0a',
      caller: 'gavel',
      time: '2026-12-06T12:00:00.000Z',
    });
    expect(JSON.parse(r.payloadJcs ?? 'null')).toEqual({
      event: {
        result: 'activated',
        bundle: 'ai',
        revision: 'r2',
        digest: 'sha256:0a',
        entrypoints: ['ai/decision'],
        source: 'folder:bundles',
        signer: 'k1',
        reason: '',
      },
    });
  });

  it('a refusal: bundle_invalid as its reason code, and empty strings and lists for what it does not have', () => {
    const r = policyEventRecord({ result: 'refused', bundle: 'broken.tar.gz', source: 'https://b.example/x', reason: 'signature does not verify' }, now);
    expect(r).toMatchObject({ actionType: 'policy.refused', decision: 'refused', reasonCodes: ['bundle_invalid'], revision: '', digest: '' });
    expect(JSON.parse(r.payloadJcs ?? 'null')).toEqual({
      event: {
        result: 'refused',
        bundle: 'broken.tar.gz',
        revision: '',
        digest: '',
        entrypoints: [],
        source: 'https://b.example/x',
        signer: '',
        reason: 'signature does not verify',
      },
    });
  });

  it('a deactivation has no reason code', () => {
    expect(policyEventRecord({ result: 'deactivated', bundle: 'ai', revision: 'r1', source: 'start' }, now).reasonCodes).toEqual([]);
  });
});
