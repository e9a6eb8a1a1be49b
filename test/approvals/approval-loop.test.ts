import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timeline } from '../../src/ledger/timeline.js';
import { clients, stream, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { TestClock } from '../usage/helpers.js';
import { codes, decide as decideNow, errorCode, FIONA, MANAGER, resolve, resolveError, SECOND_MANAGER, transfer, watch } from './helpers.js';

/**
 * The approval loop over real gRPC on 127.0.0.1, with the reference `ai`
 * bundle, metering on and a file ledger: REQUIRE_APPROVAL creates a request,
 * a manager resolves it, the retried call is allowed exactly once for exactly
 * that action, and the chain records every step.
 */
const T0 = Date.parse('2026-11-24T10:00:00Z');
let srv: InProcessServer;
let c: Clients;
const clock = new TestClock(T0);

beforeAll(async () => {
  srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'ledger.db'), now: clock.now });
  c = clients(srv.address);
});
afterAll(async () => {
  c.close();
  await srv.stop();
});

/** A minute apart each: the reference policy limits payments.transfer to 10 calls a minute per subject. */
function decide(clients: Clients, input: unknown): Promise<Record<string, any>> {
  clock.advance(61_000);
  return decideNow(clients, input);
}

async function requested(amount: number, subject?: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await decide(c, transfer(amount, subject ? { subject } : {}));
  expect(res.decision).toBe('DECISION_REQUIRE_APPROVAL');
  expect(res.approval?.approval_id).toMatch(/^[0-9a-f-]{36}$/);
  return res;
}

describe('the approval loop', () => {
  it('held at REQUIRE_APPROVAL, approved by a manager, allowed once for exactly that action; the ledger tells the story', async () => {
    const asked = await requested(25_000);
    const id = asked.approval.approval_id as string;
    expect(asked.approval).toMatchObject({
      approvers: ['role:finance-manager'],
      min_approvals: 1,
      state: 'pending',
      expires_at: new Date(clock.now().getTime() + 4 * 3600_000).toISOString(),
    });
    expect(JSON.parse(asked.obligations_json.toString())).toEqual({ approval: { approvers: ['role:finance-manager'], min_approvals: 1, expires_in: '4h' } });

    const pending = await unaryGet(id);
    expect(pending).toMatchObject({
      state: 'pending',
      subject_id: 'fiona',
      action_type: 'tool.call',
      resource: 'payments.transfer',
      requested_by: asked.decision_id,
    });
    expect(JSON.parse(pending.params_json.toString())).toEqual({ amount: 25_000, currency: 'USD', to_account: 'ACME-001' });
    const listed = await unaryList({ state: 'pending', approver_role: 'finance-manager' });
    expect(listed.map((a) => a.approval_id)).toContain(id);
    expect((await unaryList({ state: 'pending', approver_role: 'team-lead' })).map((a) => a.approval_id)).not.toContain(id);

    // Retried before anyone decided: still held, pointing at the same request (no second one).
    const early = await decide(c, transfer(25_000, { approvalId: id }));
    expect(early.decision).toBe('DECISION_REQUIRE_APPROVAL');
    expect(codes(early)).toContain('approval_pending');
    expect(early.approval.approval_id).toBe(id);

    clock.advance(60_000);
    const approved = await resolve(c, id, 'VERDICT_APPROVE', MANAGER, 'invoice INV-7 checked');
    expect(approved).toMatchObject({ state: 'approved', resolved_at: clock.now().toISOString() });
    expect(approved.votes).toEqual([
      {
        approver: MANAGER,
        verdict: 'approve',
        comment: 'invoice INV-7 checked',
        at: clock.now().toISOString(),
        caller: expect.stringMatching(/^unverified:/),
        verdict_enum: 'VERDICT_APPROVE',
      },
    ]);

    const allowed = await decide(c, transfer(25_000, { approvalId: id }));
    expect(allowed.decision).toBe('DECISION_ALLOW');
    expect(codes(allowed)).toContain('approval_granted');
    expect(allowed.approval).toMatchObject({ approval_id: id, state: 'consumed' });
    expect(await unaryGet(id)).toMatchObject({ state: 'consumed', consumed_by: allowed.decision_id });

    // Single use: the same approval again is a new request.
    const again = await decide(c, transfer(25_000, { approvalId: id }));
    expect(again.decision).toBe('DECISION_REQUIRE_APPROVAL');
    expect(codes(again)).toContain('approval_consumed');
    expect(again.approval.approval_id).not.toBe(id);

    // Every step is an approval entry in the chain, next to the decisions it belongs to.
    const db = srv.core.parts.ledger.db;
    const steps = db
      .prepare("SELECT seq, decision, request_id, action_type, subject_id FROM entries WHERE kind = 'approval' AND request_id = ? ORDER BY seq")
      .all(id) as Array<{ seq: number; decision: string; action_type: string; subject_id: string }>;
    expect(steps.map((s) => s.decision)).toEqual(['requested', 'approved', 'consumed']);
    expect(steps.every((s) => s.subject_id === 'fiona' && s.action_type === `approval.${s.decision}`)).toBe(true);
    expect(steps[0]!.seq).toBe(Number(asked.receipt.seq) + 1);
    expect(steps[2]!.seq).toBe(Number(allowed.receipt.seq) + 1);

    const story = timeline(db, { subject: 'fiona' }).filter((e) => e.kind === 'approval' && e.approval?.id === id);
    expect(story.map((e) => [e.approval!.event, e.approval!.decisionId || e.approval!.approver?.id])).toEqual([
      ['requested', asked.decision_id],
      ['approved', 'mia'],
      ['consumed', allowed.decision_id],
    ]);
    expect(story[1]!.approval!.comment).toBe('invoice INV-7 checked');
    const verify = await srv.core.parts.ledger.verify();
    expect(verify.ok).toBe(true);
  });

  it('an approval is for that action only: another amount, account or subject is a new request, and the approval stays unused', async () => {
    const id = (await requested(25_000)).approval.approval_id as string;
    await resolve(c, id, 'VERDICT_APPROVE', MANAGER);
    for (const other of [
      transfer(1_000_000, { approvalId: id }),
      transfer(25_000, { approvalId: id, to: 'EVIL-999' }),
      transfer(25_000, { approvalId: id, subject: { ...FIONA, id: 'fred' } }),
    ]) {
      const res = await decide(c, other);
      expect(res.decision).toBe('DECISION_REQUIRE_APPROVAL');
      expect(codes(res)).toContain('approval_mismatch');
      expect(res.approval.approval_id).not.toBe(id);
    }
    expect((await unaryGet(id)).state).toBe('approved');
    expect((await decide(c, transfer(25_000, { approvalId: id }))).decision).toBe('DECISION_ALLOW');
  });

  it('gavel, not the caller, says what an approval is: a forged context.approval and an unknown id allow nothing', async () => {
    const forged = transfer(25_000) as { context: Record<string, unknown> };
    forged.context.approval = { id: 'x', state: 'approved', approvers: [], matches: true };
    const res = await decide(c, forged);
    expect(res.decision).toBe('DECISION_REQUIRE_APPROVAL');
    expect(codes(res)).not.toContain('approval_granted');
    const unknown = await decide(c, transfer(25_000, { approvalId: '00000000-0000-4000-8000-000000000000' }));
    expect(unknown.decision).toBe('DECISION_REQUIRE_APPROVAL');
    expect(codes(unknown)).toContain('approval_mismatch');
    const bad = await decide(c, { ...transfer(25_000), context: { approval_id: 42 } }).catch((err: unknown) => err as { code: number });
    expect((bad as { code: number }).code).toBe(3);
  });

  it('separation of duties: the subject, the user an agent acts for, an approver without the role and a second vote by one person are refused', async () => {
    const own = (await requested(25_000)).approval.approval_id as string;
    const self = await resolveError(c, { approval_id: own, verdict: 'VERDICT_APPROVE', approver: { id: 'fiona', roles: ['finance-manager'] } });
    expect([self.code, errorCode(self)]).toEqual([7, 'approver_not_allowed']);
    expect(self.details).toMatch(/subject/);
    const nobody = await resolveError(c, { approval_id: own, verdict: 'VERDICT_APPROVE', approver: { id: 'eve', roles: ['employee'] } });
    expect([nobody.code, errorCode(nobody)]).toEqual([7, 'approver_not_allowed']);

    const agent = { id: 'agent-finance-ops', type: 'agent', on_behalf_of: { ...FIONA, id: 'olga', roles: ['finance', 'finance-manager'] } };
    const forUser = (await requested(25_000, agent)).approval.approval_id as string;
    const delegator = await resolveError(c, { approval_id: forUser, verdict: 'VERDICT_APPROVE', approver: { id: 'olga', roles: ['finance-manager'] } });
    expect([delegator.code, errorCode(delegator)]).toEqual([7, 'approver_not_allowed']);
    expect(delegator.details).toMatch(/acts for/);
    expect((await resolve(c, forUser, 'VERDICT_APPROVE', MANAGER)).state).toBe('approved');

    // Above 100,000: two distinct approvers.
    const big = await requested(250_000);
    const bigId = big.approval.approval_id as string;
    expect(big.approval.min_approvals).toBe(2);
    expect(await resolve(c, bigId, 'VERDICT_APPROVE', MANAGER)).toMatchObject({ state: 'pending' });
    expect((await decide(c, transfer(250_000, { approvalId: bigId }))).decision).toBe('DECISION_REQUIRE_APPROVAL');
    const twice = await resolveError(c, { approval_id: bigId, verdict: 'VERDICT_APPROVE', approver: MANAGER });
    expect(errorCode(twice)).toBe('approver_not_allowed');
    expect(await resolve(c, bigId, 'VERDICT_APPROVE', SECOND_MANAGER)).toMatchObject({ state: 'approved' });
    expect((await unaryGet(bigId)).votes.map((v: { approver: { id: string } }) => v.approver.id)).toEqual(['mia', 'noah']);
    expect((await decide(c, transfer(250_000, { approvalId: bigId }))).decision).toBe('DECISION_ALLOW');
  });

  it('a rejection denies that action; a resolved request cannot be resolved again; bad requests get clear status', async () => {
    const id = (await requested(30_000)).approval.approval_id as string;
    expect((await resolve(c, id, 'VERDICT_REJECT', MANAGER, 'no invoice')).state).toBe('rejected');
    const denied = await decide(c, transfer(30_000, { approvalId: id }));
    expect(denied.decision).toBe('DECISION_DENY');
    expect(codes(denied)).toContain('approval_rejected');
    const late = await resolveError(c, { approval_id: id, verdict: 'VERDICT_APPROVE', approver: SECOND_MANAGER });
    expect([late.code, errorCode(late)]).toEqual([9, 'approval_not_pending']);
    const missing = await resolveError(c, { approval_id: 'nope', verdict: 'VERDICT_APPROVE', approver: MANAGER });
    expect([missing.code, errorCode(missing)]).toEqual([5, 'approval_not_found']);
    const noVerdict = await resolveError(c, { approval_id: id, approver: MANAGER });
    expect([noVerdict.code, errorCode(noVerdict)]).toEqual([3, 'invalid_approval']);
    const noApprover = await resolveError(c, { approval_id: id, verdict: 'VERDICT_APPROVE' });
    expect([noApprover.code, errorCode(noApprover)]).toEqual([3, 'invalid_approval']);
    const long = await resolveError(c, { approval_id: id, verdict: 'VERDICT_APPROVE', approver: MANAGER, comment: 'x'.repeat(5000) });
    expect(errorCode(long)).toBe('invalid_approval');
    const spaced = await resolveError(c, { approval_id: id, verdict: 'VERDICT_APPROVE', approver: { id: 'mia ', roles: ['finance-manager'] } });
    expect(errorCode(spaced)).toBe('invalid_approval');
    const longId = await resolveError(c, { approval_id: 'x'.repeat(200), verdict: 'VERDICT_APPROVE', approver: MANAGER });
    expect(errorCode(longId)).toBe('invalid_approval');
    const { unaryError } = await import('../helpers/client.js');
    const badState = await unaryError(c.approval, 'ListApprovals', { state: 'open' });
    expect([badState.code, errorCode(badState)]).toEqual([3, 'invalid_query']);
    const tooMany = await unaryError(c.approval, 'ListApprovals', { limit: 1001 });
    expect([tooMany.code, errorCode(tooMany)]).toEqual([3, 'invalid_query']);
    const noId = await unaryError(c.approval, 'GetApproval', { approval_id: '' });
    expect([noId.code, errorCode(noId)]).toEqual([3, 'invalid_approval']);
  });

  it('two concurrent Decides with one approval: exactly one is allowed', async () => {
    for (let round = 0; round < 3; round++) {
      const id = (await requested(40_000 + round)).approval.approval_id as string;
      await resolve(c, id, 'VERDICT_APPROVE', MANAGER);
      const answers = await Promise.all(Array.from({ length: 6 }, () => decide(c, transfer(40_000 + round, { approvalId: id }))));
      const allowed = answers.filter((a) => a.decision === 'DECISION_ALLOW');
      expect(allowed).toHaveLength(1);
      expect(answers.filter((a) => a.decision === 'DECISION_REQUIRE_APPROVAL')).toHaveLength(5);
      expect((await unaryGet(id)).consumed_by).toBe(allowed[0]!.decision_id);
    }
  });

  it('expiry with an injected clock: on read, by the sweep, and WatchApproval sees approve and expire', async () => {
    const onRead = (await requested(11_000)).approval.approval_id as string;
    const swept = (await requested(12_000)).approval.approval_id as string;
    const watched = (await requested(13_000)).approval.approval_id as string;
    const approvedThenUnused = (await requested(14_000)).approval.approval_id as string;
    const resolvedLate = (await requested(16_000)).approval.approval_id as string;

    const seen = watch(c, watched);
    const toApprove = (await requested(15_000)).approval.approval_id as string;
    const seenApprove = watch(c, toApprove);
    await new Promise((r) => setTimeout(r, 100));
    await resolve(c, toApprove, 'VERDICT_APPROVE', MANAGER);
    await resolve(c, approvedThenUnused, 'VERDICT_APPROVE', MANAGER);
    expect((await decide(c, transfer(15_000, { approvalId: toApprove }))).decision).toBe('DECISION_ALLOW');
    expect((await seenApprove).map((a) => a.state)).toEqual(['pending', 'approved', 'consumed']);

    clock.advance(4 * 3600_000 + 1000);
    const expired = await unaryGet(onRead);
    expect(expired).toMatchObject({ state: 'expired', resolved_at: clock.now().toISOString() });
    const late = await resolveError(c, { approval_id: onRead, verdict: 'VERDICT_APPROVE', approver: MANAGER });
    expect(errorCode(late)).toBe('approval_not_pending');
    // Resolved past its expiry with no read before: expired by the attempt, not approved.
    const tooLate = await resolveError(c, { approval_id: resolvedLate, verdict: 'VERDICT_APPROVE', approver: MANAGER });
    expect([tooLate.code, errorCode(tooLate)]).toEqual([9, 'approval_not_pending']);
    expect(tooLate.details).toMatch(/expired/);

    expect(await srv.core.parts.approvals!.sweep()).toBeGreaterThanOrEqual(3);
    expect((await unaryGet(swept)).state).toBe('expired');
    expect((await unaryGet(approvedThenUnused)).state).toBe('expired');
    expect((await decide(c, transfer(14_000, { approvalId: approvedThenUnused }))).decision).toBe('DECISION_REQUIRE_APPROVAL');
    expect((await seen).map((a) => a.state)).toEqual(['pending', 'expired']);

    const db = srv.core.parts.ledger.db;
    const expiries = db
      .prepare("SELECT caller FROM entries WHERE kind = 'approval' AND decision = 'expired' AND request_id IN (?, ?, ?, ?)")
      .all(onRead, swept, watched, approvedThenUnused);
    expect(expiries).toEqual(Array.from({ length: 4 }, () => ({ caller: 'gavel' })));
    expect((await srv.core.parts.ledger.verify()).ok).toBe(true);
  });

  it('metrics count the approval events the chain holds, and the requests open now', async () => {
    const body = await srv.server.metrics.registry.metrics();
    const db = srv.core.parts.ledger.db;
    for (const event of ['requested', 'approved', 'rejected', 'expired', 'consumed']) {
      const inChain = (db.prepare("SELECT COUNT(*) AS n FROM entries WHERE kind = 'approval' AND decision = ?").get(event) as { n: number }).n;
      expect(inChain).toBeGreaterThan(0);
      expect(body).toContain(`gavel_approval_events_total{event="${event}"} ${inChain}`);
    }
    const open = (await unaryList({})).filter((a) => (a.state === 'pending' || a.state === 'approved') && Date.parse(a.expires_at) > clock.now().getTime());
    expect(open.length).toBeGreaterThan(0);
    expect(body).toMatch(new RegExp(`^gavel_approvals_open ${open.length}$`, 'm'));
  });

  it('the audit API and timeline read approval entries like any other', async () => {
    const entries = await stream(c.audit, 'QueryDecisions', { kind: 'approval', subject: 'fiona', limit: 1000 });
    expect(entries.length).toBeGreaterThan(5);
    expect(new Set(entries.map((e) => e.kind))).toEqual(new Set(['approval']));
    expect(new Set(entries.map((e) => e.decision))).toEqual(new Set(['requested', 'approved', 'rejected', 'expired', 'consumed']));
  });
});

function unaryGet(id: string): Promise<Record<string, any>> {
  return import('../helpers/client.js').then(({ unary }) => unary(c.approval, 'GetApproval', { approval_id: id }));
}

async function unaryList(filter: Record<string, unknown>): Promise<Array<Record<string, any>>> {
  const { unary } = await import('../helpers/client.js');
  return (await unary<{ approvals: Array<Record<string, any>> }>(c.approval, 'ListApprovals', { limit: 1000, ...filter })).approvals;
}
