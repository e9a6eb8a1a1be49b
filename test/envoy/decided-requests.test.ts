import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/runtime/faces.js';
import { DecidedRequests } from '../../src/transport/envoy/decided-requests.js';

/** The ext_authz decisions kept for their ext_proc body phase: one request, one decision. */
const decision = (id: string) => ({ decisionId: id, decision: 'redact' }) as unknown as Decision;
const body = (s: string) => Buffer.from(s);

describe('DecidedRequests', () => {
  it('gives a decision back once, for the same request id and the same body only', () => {
    const kept = new DecidedRequests();
    kept.put('r-1', body('{"a":1}'), decision('d-1'));
    expect(kept.take('r-2', body('{"a":1}'))).toBeUndefined();
    expect(kept.take('r-1', body('{"a":2}'))).toBeUndefined(); // another body under the same id
    kept.put('r-1', body('{"a":1}'), decision('d-1'));
    expect(kept.take('r-1', body('{"a":1}'))?.decisionId).toBe('d-1');
    expect(kept.take('r-1', body('{"a":1}'))).toBeUndefined();
    kept.put('', body(''), decision('d-0')); // no request id: nothing to match it by
    expect(kept.size).toBe(0);
  });

  it('forgets after 60 s, and holds at most 10,000 (the oldest go first)', () => {
    let now = 0;
    const kept = new DecidedRequests(() => now);
    kept.put('r-1', body('x'), decision('d-1'));
    now = 60_000;
    expect(kept.take('r-1', body('x'))).toBeUndefined();
    now = 0;
    for (let i = 0; i < 10_001; i++) kept.put(`r-${i}`, body('x'), decision(`d-${i}`));
    expect(kept.size).toBe(10_000);
    expect(kept.take('r-0', body('x'))).toBeUndefined();
    expect(kept.take('r-10000', body('x'))?.decisionId).toBe('d-10000');
  });
});
