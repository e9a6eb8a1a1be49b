import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime } from '../../src/runtime.js';
import { clients, unary, unaryError, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { runCli, startInProcess, type InProcessServer } from '../helpers/server.js';
import { modelCall } from '../usage/helpers.js';
import { payloadTextOf } from '../helpers/payloads.js';

/** Every string that reaches a ledger header is bounded; identity fields are recorded as received, never masked. */
let srv: InProcessServer;
let c: Clients;
const ledger = join(tempDir(), 'l.db');
beforeAll(async () => {
  srv = await startInProcess({ bundles: BUNDLES, ledger });
  c = clients(srv.address);
});
afterAll(async () => {
  c.close();
  await srv.stop();
});

const who = { subject: 'bounded', team: 'platform', costCenter: 'cc-100' };
const decideRaw = (input: unknown, requestId = '', metadata = new grpc.Metadata()) =>
  unaryError(c.decision, 'Decide', { input_json: Buffer.from(JSON.stringify(input)), request_id: requestId }, metadata);

describe('bounded header fields', () => {
  it('request_id of 256 bytes is recorded; 257 is INVALID_ARGUMENT with nothing recorded', async () => {
    const ok = await unary(c.decision, 'Decide', { input_json: Buffer.from(JSON.stringify(modelCall(who))), request_id: 'r'.repeat(256) });
    expect(ok.request_id).toHaveLength(256);
    const before = srv.core.parts.ledger.size;
    const err = await decideRaw(modelCall(who), 'r'.repeat(257));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain('request_id is 257 bytes');
    // Multi-byte characters count as bytes: 129 x "é" is 258 bytes.
    expect((await decideRaw(modelCall(who), 'é'.repeat(129))).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(srv.core.parts.ledger.size).toBe(before);
  });

  it.each([
    ['subject.id', { ...modelCall(who), subject: { id: 'x'.repeat(10_000), type: 'user', team: 'platform', cost_center: 'cc-100' } }],
    ['team', { ...modelCall(who), subject: { id: 'b', type: 'user', team: 't'.repeat(300), cost_center: 'cc-100' } }],
    ['action.model', { ...modelCall(who), action: { type: 'model.invoke', model: 'm'.repeat(1_000_000) } }],
  ])('an oversized %s is INVALID_ARGUMENT, nothing recorded, and the value is not echoed back', async (field, input) => {
    const before = srv.core.parts.ledger.size;
    const err = await decideRaw(input);
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain(field);
    expect(err.details.length).toBeLessThan(200);
    expect(srv.core.parts.ledger.size).toBe(before);
  });

  it('an oversized x-gavel-caller is refused too', async () => {
    const md = new grpc.Metadata();
    md.set('x-gavel-caller', 'c'.repeat(1000));
    expect((await decideRaw(modelCall(who), '', md)).code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

describe('identity fields are never masked', () => {
  it('a subject whose id is an email that also appears in the prompt is recorded under that id and found by audit query --subject', async () => {
    const email = 'jane.doe@example.com';
    const input = { ...modelCall({ subject: email, team: 'platform', costCenter: 'cc-100' }), content: { prompt: `reply to ${email} today` } };
    const d = await unary(c.decision, 'Decide', { input_json: Buffer.from(JSON.stringify(input)) });
    expect(d.redactions.length).toBeGreaterThan(0);
    expect(JSON.stringify(d)).not.toContain(`reply to ${email}`);
    const row = srv.core.parts.ledger.db.prepare('SELECT subject_id, team, cost_center FROM entries WHERE decision_id = ?').get(d.decision_id);
    expect(row).toEqual({ subject_id: email, team: 'platform', cost_center: 'cc-100' });
    const stored = payloadTextOf(srv.core.parts.ledger.db, d.decision_id);
    expect(stored).not.toContain(`reply to ${email}`);
    const found = await runCli(['audit', 'query', '--ledger', ledger, '--subject', email, '--json']);
    expect(found.code).toBe(0);
    expect(found.stdout).toContain(d.decision_id);
  });

  it('the engine records identity from the input as received (no server)', async () => {
    const core = await startRuntime({ bundles: BUNDLES, ledger: ':memory:', usage: false });
    try {
      const email = 'sam@example.com';
      const d = await core.decide({
        policy: '',
        input: { value: { ...modelCall({ subject: email, team: 'platform', costCenter: 'cc-100' }), content: { prompt: email } } },
        requestId: 'q',
        caller: 't',
      });
      expect(core.parts.ledger.get(d.decisionId)).toMatchObject({ subjectId: email, requestId: 'q' });
    } finally {
      await core.stop();
    }
  });
});
