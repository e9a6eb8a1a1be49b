import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clients, jsonInput, unaryError, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { TestClock } from '../usage/helpers.js';
import { codes, decide, errorCode, FIONA, MANAGER, resolve, resolveError, SECOND_MANAGER, transfer } from './helpers.js';

/**
 * Issue 24 over real gRPC with the reference `ai` bundle: `fiona` approved her
 * own 1,000,000 transfer as approver `Fiona` and as full-width `ｆｉｏｎａ`, and
 * one person cast both votes of a two-approver request as `mia` and `mia` +
 * U+200D. Names are now compared as people read them.
 */
const clock = new TestClock(Date.parse('2026-11-24T10:00:00Z'));
let srv: InProcessServer;
let c: Clients;
beforeAll(async () => {
  srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'ledger.db'), now: clock.now });
  c = clients(srv.address);
});
afterAll(async () => {
  c.close();
  await srv.stop();
});

it('fiona cannot approve her own transfer as Fiona or ｆｉｏｎａ, nor mia vote twice as mia + U+200D or MIA; Fiona’s retry uses the approval', async () => {
  const asked = await decide(c, transfer(1_000_000));
  expect(asked.decision).toBe('DECISION_REQUIRE_APPROVAL');
  const id = asked.approval.approval_id as string;
  expect(asked.approval.min_approvals).toBe(2);

  for (const self of ['Fiona', 'ｆｉｏｎａ']) {
    const err = await resolveError(c, { approval_id: id, verdict: 'VERDICT_APPROVE', approver: { id: self, roles: ['finance-manager'] } });
    expect([err.code, errorCode(err)], self).toEqual([7, 'approver_not_allowed']);
    expect(err.details).toMatch(/is the subject of this request/);
  }

  expect(await resolve(c, id, 'VERDICT_APPROVE', MANAGER)).toMatchObject({ state: 'pending' });
  const invisible = await resolveError(c, { approval_id: id, verdict: 'VERDICT_APPROVE', approver: { id: 'mia\u200d', roles: ['finance-manager'] } });
  expect([invisible.code, errorCode(invisible)]).toEqual([3, 'invalid_approval']);
  expect(invisible.details).toBe('approver.id holds the invisible or control character U+200D');
  const again = await resolveError(c, { approval_id: id, verdict: 'VERDICT_APPROVE', approver: { id: 'MIA', roles: ['finance-manager'] } });
  expect([again.code, errorCode(again)]).toEqual([7, 'approver_not_allowed']);
  expect(again.details).toMatch(/already voted/);

  const approved = await resolve(c, id, 'VERDICT_APPROVE', SECOND_MANAGER);
  expect(approved.state).toBe('approved');
  expect(approved.votes.map((v: { approver: { id: string } }) => v.approver.id)).toEqual(['mia', 'noah']);

  // The same person retrying under another spelling: the same action, so the approval is used.
  clock.advance(61_000);
  const allowed = await decide(c, transfer(1_000_000, { approvalId: id, subject: { ...FIONA, id: 'Fiona' } }));
  expect(allowed.decision).toBe('DECISION_ALLOW');
  expect(codes(allowed)).toContain('approval_granted');
  expect(allowed.approval).toMatchObject({ approval_id: id, state: 'consumed' });
});

it('a subject id holding an invisible character is refused at Decide, and nothing is recorded', async () => {
  const before = srv.core.parts.ledger.size;
  const err = await unaryError(c.decision, 'Decide', jsonInput(transfer(1_000_000, { subject: { ...FIONA, id: 'fiona\u200d' } })));
  expect([err.code, errorCode(err)]).toEqual([3, 'invalid_input']);
  expect(err.details).toMatch(/^subject\.id holds the invisible or control character U\+200D/);
  expect(srv.core.parts.ledger.size).toBe(before);
});
