import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, stream, unary, unaryError, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { sample } from '../helpers/samples.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { payloadTextOf } from '../helpers/payloads.js';

/**
 * AuditService.RecordOffline over a real server: a decision an enforcement point made while gavel
 * was down becomes one `offline` entry in the chain (the client's decision, its mode and cause, the
 * input as the active policy redacts it), however often it is delivered.
 */
let srv: InProcessServer;
let c: Clients;

beforeAll(async () => {
  srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'ledger.db') });
  c = clients(srv.address);
});
afterAll(async () => {
  c.close();
  await srv.stop();
});

const ALICE = { id: 'alice', type: 'user', roles: ['employee'], team: 'platform', cost_center: 'cc-100' };
const modelCall = { subject: ALICE, action: { type: 'model.invoke', model: 'standard-m' }, content: { prompt: 'hi' } };
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

function offline(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    offline_id: randomUUID(),
    decided_at: minutesAgo(3),
    mode: 'OFFLINE_MODE_CLOSED',
    decision: 'DECISION_DENY',
    reasons: [{ code: 'pdp_unavailable', message: 'gavel could not be reached' }],
    input_json: Buffer.from(JSON.stringify(modelCall)),
    request_id: 'req-offline',
    cause: 'unavailable',
    ...over,
  };
}
const entryOf = async (id: string) => {
  const got = await unary(c.audit, 'GetDecision', { decision_id: id });
  return { entry: got.entry, payload: JSON.parse(got.payload_json.toString()) as Record<string, any> };
};

describe('RecordOffline', () => {
  it('records a closed-mode denial as an offline entry with its mode, cause and time', async () => {
    const req = offline();
    const res = await unary(c.audit, 'RecordOffline', req, new grpc.Metadata({}));
    expect(res).toMatchObject({
      decision_id: req.offline_id,
      duplicate: false,
      receipt: { seq: expect.any(Number), entry_hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    const { entry, payload } = await entryOf(req.offline_id as string);
    expect(entry).toMatchObject({
      kind: 'offline',
      kind_enum: 'ENTRY_KIND_OFFLINE',
      decision: 'deny',
      reason_codes: ['pdp_unavailable'],
      time: req.decided_at,
      subject_id: 'alice',
      team: 'platform',
      action_type: 'model.invoke',
      resource: 'standard-m',
      request_id: 'req-offline',
      caller: 'unverified:anonymous',
      seq: res.receipt.seq,
      entry_hash: res.receipt.entry_hash,
    });
    expect(payload.offline).toEqual({ mode: 'closed', cause: 'unavailable', recorded_at: expect.any(String) });
    expect(payload.result).toEqual({ decision: 'deny', reasons: [{ code: 'pdp_unavailable', message: 'gavel could not be reached' }] });
    // As a decision's input is stored: with the time it was decided at, as context.now.
    expect(payload.input).toEqual({ ...modelCall, context: { now: req.decided_at } });
    expect((await unary(c.audit, 'Verify', {})).ok).toBe(true);
  });

  it('a redelivery, or many at once, is recorded once: duplicates answer with the first receipt', async () => {
    const req = offline({
      mode: 'OFFLINE_MODE_OPEN',
      decision: 'DECISION_ALLOW',
      reasons: [{ code: 'pdp_unavailable_fail_open', message: 'allowed: fail open' }],
    });
    // Eight deliveries at once, none recorded yet: one appends, the others wait for it and find its entry.
    const all = await Promise.all(Array.from({ length: 8 }, () => unary(c.audit, 'RecordOffline', req)));
    const first = all.find((r) => !r.duplicate)!;
    expect(all.filter((r) => !r.duplicate)).toHaveLength(1);
    for (const r of all.filter((r) => r.duplicate)) expect(r).toEqual({ ...first, duplicate: true });
    expect(await unary(c.audit, 'RecordOffline', req)).toEqual({ ...first, duplicate: true });
    const listed = await stream(c.audit, 'QueryDecisions', { decision_id: req.offline_id, limit: 100 });
    expect(listed).toHaveLength(1);
    const counted = await stream(c.audit, 'QueryDecisions', { kind_enum: 'ENTRY_KIND_OFFLINE', limit: 1000 });
    expect(counted.filter((e) => e.decision_id === req.offline_id)).toHaveLength(1);
  });

  it('stores the input as the active policy redacts it, never the raw values', async () => {
    const s = sample('prompt-pii-redact');
    const req = offline({ mode: 'OFFLINE_MODE_OPEN', decision: 'DECISION_ALLOW', input_json: Buffer.from(JSON.stringify(s.input)) });
    await unary(c.audit, 'RecordOffline', req);
    const { payload } = await entryOf(req.offline_id as string);
    expect(JSON.stringify(payload.input)).toContain('[REDACTED:email]');
    const body = payloadTextOf(srv.core.parts.ledger.db, String(req.offline_id));
    expect(s.expect.redactions?.length).toBeGreaterThan(0);
    for (const r of s.expect.redactions ?? []) expect(body).not.toContain(r.match);
  });

  it('a fallback decision names the local bundle that made it', async () => {
    const policy_version = { bundle: 'ai', revision: 'ai-local-1', digest: 'sha256:abc' };
    const req = offline({ mode: 'OFFLINE_MODE_FALLBACK', decision: 'DECISION_ALLOW', reasons: [{ code: 'model_permitted', message: 'ok' }], policy_version });
    await unary(c.audit, 'RecordOffline', req);
    expect((await entryOf(req.offline_id as string)).entry).toMatchObject({ bundle: 'ai', revision: 'ai-local-1', digest: 'sha256:abc', decision: 'allow' });
  });

  it('refuses what cannot be recorded as given, with invalid_offline or invalid_input', async () => {
    const decided = await unary(c.decision, 'Decide', { input_json: Buffer.from(JSON.stringify(modelCall)) });
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [offline({ offline_id: '' }), 'invalid_offline', 'offline_id must be'],
      [offline({ decided_at: new Date(Date.now() + 3_600_000).toISOString() }), 'invalid_offline', 'in the future'],
      [offline({ decided_at: 'yesterday' }), 'invalid_offline', 'RFC 3339'],
      [offline({ mode: 'OFFLINE_MODE_UNSPECIFIED' }), 'invalid_offline', 'mode must be'],
      [offline({ decision: 'DECISION_ALLOW' }), 'invalid_offline', 'closed fail mode only denies'],
      [offline({ mode: 'OFFLINE_MODE_OPEN' }), 'invalid_offline', 'open fail mode only allows'],
      [offline({ mode: 'OFFLINE_MODE_FALLBACK', decision: 'DECISION_ALLOW' }), 'invalid_offline', 'names the bundle revision'],
      [offline({ offline_id: decided.decision_id }), 'invalid_offline', 'names a decision entry'],
      [offline({ input_json: Buffer.from('[1]') }), 'invalid_input', ''],
    ];
    const before = srv.core.audit.size;
    for (const [req, code, message] of cases) {
      const err = await unaryError(c.audit, 'RecordOffline', req);
      expect([req.offline_id, err.code, err.metadata.get('gavel-error-code')[0], err.details]).toEqual([
        req.offline_id,
        grpc.status.INVALID_ARGUMENT,
        code,
        expect.stringContaining(message),
      ]);
    }
    expect(srv.core.audit.size).toBe(before);
  });
});
