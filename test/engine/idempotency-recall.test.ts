import { describe, expect, it } from 'vitest';
import { type RecordedRequest, recall, recallOf, replayedParts, requestHash } from '../../src/engine/idempotency.js';
import { saltedValueHash } from '../../src/engine/redact.js';
import type { JsonObject } from '../../src/lib/json.js';
import { refusalOf } from '../helpers/refusal.js';

/**
 * A retry's recall, piece by piece: what the recorded entry must hold to be compared (recallOf), the
 * comparison and the redacted input rebuilt from it (recall), and the answer read back (replayedParts).
 * test/engine/idempotency.test.ts drives the same through Engine.decide.
 */
const SALT = '00112233445566778899aabbccddeeff';
const salt = Buffer.from(SALT, 'hex');
const DIGEST = 'a'.repeat(64);

function found(payload: JsonObject | null, over: Partial<RecordedRequest> = {}): RecordedRequest {
  return {
    decisionId: 'd-1',
    time: '2026-12-06T10:00:00.000Z',
    decision: 'allow',
    bundle: 'ai',
    revision: 'r1',
    digest: 'sha256:00',
    entrypoint: 'ai/decision',
    requestId: 'req-7',
    receipt: { seq: 4, entryHash: 'e'.repeat(64) },
    payload,
    salt: payload === null ? null : SALT,
    ...over,
  };
}

const conflictOf = refusalOf;

describe('recallOf: what a recorded entry must hold to be compared', () => {
  it('refuses an erased payload as a conflict that names the request and the decision', () => {
    const err = conflictOf(() => recallOf(found(null)));
    expect(err.code).toBe('idempotency_conflict');
    expect(err.message).toBe(
      'request_id "req-7" was already decided (decision d-1) for another input; its recorded payload was erased: use a new request_id for a new request',
    );
  });

  it('refuses an entry without an input hash, or without its salt', () => {
    expect(conflictOf(() => recallOf(found({ result: {} }))).message).toContain('; its entry records no input hash:');
    expect(conflictOf(() => recallOf(found({ request_hash: 7 }))).message).toContain('; its entry records no input hash:');
    expect(conflictOf(() => recallOf(found({ request_hash: 'h' }, { salt: null }))).message).toContain('; its entry records no input hash:');
  });

  it('keeps the stored input only when the answer carried redactions, and only the string paths', () => {
    const input = { prompt: 'x', user: { sha256: 'f' } };
    expect(recallOf(found({ request_hash: 'h', input, result: { redactions: [{ path: '/prompt' }], hashed_paths: ['/user', 3] } }))).toEqual({
      salt: SALT,
      requestHash: 'h',
      stored: input,
      hashedPaths: ['/user'],
    });
    // No redaction: nothing to rebuild, so nothing stored.
    expect(recallOf(found({ request_hash: 'h', input, result: { redactions: [], hashed_paths: ['/user'] } }))).toEqual({
      salt: SALT,
      requestHash: 'h',
      hashedPaths: ['/user'],
    });
    // Members that are not lists count as empty ones; a result that is not an object, as an empty result.
    expect(recallOf(found({ request_hash: 'h', input, result: { redactions: 'all', hashed_paths: '/user' } }))).toEqual({
      salt: SALT,
      requestHash: 'h',
      hashedPaths: [],
    });
    expect(recallOf(found({ request_hash: 'h', input, result: 'allow' }))).toEqual({ salt: SALT, requestHash: 'h', hashedPaths: [] });
  });
});

describe('recall: the retry against the recorded input', () => {
  const hash = requestHash(salt, DIGEST);

  it('is not the same input when the hashes differ, and the same without more when nothing was redacted', () => {
    expect(recall({ prompt: 'x' }, 'b'.repeat(64), { salt: SALT, requestHash: hash, hashedPaths: [] })).toEqual({ same: false });
    expect(recall({ prompt: 'x' }, DIGEST, { salt: SALT, requestHash: hash, hashedPaths: ['/user'] })).toStrictEqual({ same: true });
  });

  it('gives a hashed path its value back only where the retry has it and it hashes to what is stored', () => {
    const stored: JsonObject = {
      prompt: '[REDACTED]',
      user: { sha256: saltedValueHash(salt, 'alice@example.com') },
      card: { sha256: saltedValueHash(salt, '4111') },
      gone: { sha256: saltedValueHash(salt, 'was here') },
      masked: '[REDACTED]',
    };
    const retry: JsonObject = { prompt: 'p', user: 'alice@example.com', card: '4242', masked: 'm' };
    const out = recall(retry, DIGEST, { salt: SALT, requestHash: hash, stored, hashedPaths: ['/user', '/card', '/gone', '/masked'] });
    expect(out).toEqual({
      same: true,
      redactedInput: {
        prompt: '[REDACTED]',
        user: 'alice@example.com',
        card: stored.card,
        gone: stored.gone,
        masked: '[REDACTED]',
      },
    });
    // The stored input is copied, not changed.
    expect(stored.user).toEqual({ sha256: saltedValueHash(salt, 'alice@example.com') });
  });
});

describe('replayedParts: the answer read back from the entry', () => {
  it('reads the result members, and the approval only when its id and state are strings', () => {
    const result = { reasons: [{ code: 'ok' }], redactions: [{ path: '/p' }], obligations: { route: { model: 'm' } } };
    const parts = replayedParts(found({ result, approval: { approval_id: 'ap-1', state: 'approved' } }));
    expect(parts).toEqual({
      decisionId: 'd-1',
      decision: 'allow',
      reasons: [{ code: 'ok' }],
      redactions: [{ path: '/p' }],
      obligations: { route: { model: 'm' } },
      policy: { bundle: 'ai', revision: 'r1', digest: 'sha256:00' },
      entrypoint: 'ai/decision',
      receipt: { seq: 4, entryHash: 'e'.repeat(64) },
      requestId: 'req-7',
      evaluatedAt: '2026-12-06T10:00:00.000Z',
      approval: { id: 'ap-1', state: 'approved' },
    });
    expect(replayedParts(found({ result, approval: { approval_id: 5, state: 'approved' } }))).not.toHaveProperty('approval');
    expect(replayedParts(found({ result, approval: { approval_id: 'ap-1', state: 7 } }))).not.toHaveProperty('approval');
  });

  it('reads members of the wrong type, or an erased payload, as empty', () => {
    for (const payload of [{ result: { reasons: 'ok', redactions: {}, obligations: [] } }, null]) {
      const parts = replayedParts(found(payload));
      expect(parts.reasons).toEqual([]);
      expect(parts.redactions).toEqual([]);
      expect(parts.obligations).toEqual({});
      expect(parts).not.toHaveProperty('approval');
    }
  });
});
