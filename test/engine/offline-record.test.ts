import { describe, expect, it } from 'vitest';
import { checkOffline, type OfflineDecision, offlineRecord, storedInputOf } from '../../src/engine/offline.js';
import { canonicalJson } from '../../src/lib/canonical.js';
import { refusalOf } from '../helpers/refusal.js';

/** A decision made while gavel was unreachable: what is refused as given, and the entry it becomes. */
const NOW = Date.parse('2026-12-06T12:00:00.000Z');

function offline(over: Partial<OfflineDecision> = {}): OfflineDecision {
  return {
    offlineId: 'a0b1-c2',
    decidedAtMs: NOW - 60_000,
    mode: 'closed',
    decision: 'deny',
    reasons: [{ code: 'gavel_unreachable', message: 'no answer' }],
    input: {} as unknown as OfflineDecision['input'],
    requestId: 'req-1',
    entrypoint: '',
    cause: 'unavailable',
    caller: 'gw',
    ...over,
  };
}

function refusal(o: OfflineDecision): string {
  const err = refusalOf(() => checkOffline(o, NOW));
  expect(err.code).toBe('invalid_offline');
  return err.message;
}

describe('checkOffline', () => {
  it('takes each bound itself: a 128-byte id, a time 5 minutes ahead, a 64-byte cause', () => {
    expect(() => checkOffline(offline({ offlineId: 'x'.repeat(128), decidedAtMs: NOW + 5 * 60_000, cause: 'c'.repeat(64) }), NOW)).not.toThrow();
    expect(() => checkOffline(offline({ mode: 'open', decision: 'allow' }), NOW)).not.toThrow();
    expect(() =>
      checkOffline(offline({ mode: 'fallback', decision: 'require_approval', policy: { bundle: 'ai', revision: 'r1', digest: 'sha256:0' } }), NOW),
    ).not.toThrow();
  });

  it.each(['', 'x'.repeat(129), 'has space', 'tab\t', 'é', 'line\nbreak', '\nlead'])('refuses the offline id %j', (offlineId) => {
    expect(refusal(offline({ offlineId }))).toBe('offline_id must be 1 to 128 printable ASCII characters');
  });

  it('refuses a time past the clock skew, a mode or decision not known, a fail mode that does not fit, a long cause', () => {
    expect(refusal(offline({ decidedAtMs: Number.NaN }))).toBe('decided_at must be an RFC 3339 time');
    expect(refusal(offline({ decidedAtMs: NOW + 5 * 60_000 + 1 }))).toBe('decided_at is in the future');
    expect(refusal(offline({ mode: 'half' as never }))).toBe('mode must be one of closed, open, fallback');
    expect(refusal(offline({ decision: 'maybe' as never }))).toBe('decision must be one of deny, require_approval, redact, allow');
    expect(refusal(offline({ mode: 'closed', decision: 'allow' }))).toBe('a closed fail mode only denies');
    expect(refusal(offline({ mode: 'open', decision: 'deny' }))).toBe('an open fail mode only allows');
    expect(refusal(offline({ mode: 'fallback', decision: 'allow' }))).toBe('a fallback decision names the bundle revision that made it');
    expect(refusal(offline({ cause: 'c'.repeat(65) }))).toBe('cause must be at most 64 bytes');
  });
});

describe('offlineRecord', () => {
  const header = {
    subjectId: 'alice',
    subjectType: 'user',
    team: 't',
    costCenter: 'cc',
    actionType: 'model.invoke',
    resource: 'm',
    requestId: 'req-1',
    caller: 'gw',
  };
  const parts = {
    header,
    stored: { prompt: '[REDACTED]' },
    hashedPaths: ['/user'],
    salt: new Uint8Array(16),
    entrypoint: 'ai/decision',
    recordedAt: new Date(NOW),
  };

  it('records the client decision at its own time, with the hashed paths and what made it offline', () => {
    const r = offlineRecord(offline({ mode: 'fallback', decision: 'allow', policy: { bundle: 'ai', revision: 'r1', digest: 'sha256:0' } }), parts);
    expect(r).toMatchObject({
      ...header,
      kind: 'offline',
      decisionId: 'a0b1-c2',
      time: '2026-12-06T11:59:00.000Z',
      decision: 'allow',
      reasonCodes: ['gavel_unreachable'],
      bundle: 'ai',
      revision: 'r1',
      digest: 'sha256:0',
      entrypoint: 'ai/decision',
    });
    expect(r.payload).toEqual({
      input: { prompt: '[REDACTED]' },
      result: { decision: 'allow', reasons: [{ code: 'gavel_unreachable', message: 'no answer' }], hashed_paths: ['/user'] },
      offline: { mode: 'fallback', cause: 'unavailable', recorded_at: '2026-12-06T12:00:00.000Z' },
    });
  });

  it('without a policy, empty policy fields; without hashed paths (none, or not a list), no hashed_paths', () => {
    for (const hashedPaths of [[], undefined, '/user']) {
      const r = offlineRecord(offline(), { ...parts, hashedPaths });
      expect(r).toMatchObject({ bundle: '', revision: '', digest: '' });
      expect(r.payload?.result).toEqual({ decision: 'deny', reasons: [{ code: 'gavel_unreachable', message: 'no answer' }] });
    }
  });
});

describe('storedInputOf', () => {
  it('reads the stored input and hashed paths from the canonical text; anything else there reads as none', () => {
    const payload = { input: { a: 1 }, result: { hashed_paths: ['/a'] } };
    expect(storedInputOf(canonicalJson(payload))).toEqual({ stored: { a: 1 }, hashedPaths: ['/a'] });
    expect(storedInputOf(canonicalJson({ input: 'x', result: 3 }))).toEqual({ stored: {}, hashedPaths: undefined });
  });
});
