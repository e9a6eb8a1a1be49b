import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '../../src/bundles/bundle.js';
import { loadBundles } from '../../src/bundles/loader.js';
import { clients, stream, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { decide, modelCall, report, TestClock, usageOf } from '../usage/helpers.js';
import { codes, resolve } from './helpers.js';

/**
 * Budget reservations of a call that waits for approval: the reference `ai`
 * policy with one seat (sam) whose monthly spend needs a team lead's approval
 * from the first cent and is capped at 0.002 (one call's estimate is 0.0015,
 * so a call counted twice is denied seat_spend_cap). The call's reservation is
 * held while its request is open (past the usual reservation time), released
 * when it is rejected or expires, and taken over, not doubled, by a retry.
 */
const T0 = Date.parse('2026-11-24T10:00:00Z');
const clock = new TestClock(T0);
const sam = { subject: 'sam', team: 'platform', costCenter: 'cc-100' };
const LEAD = { id: 'tara', roles: ['team-lead'] };
let srv: InProcessServer;
let c: Clients;

function withSeatApproval(bundles: Bundle[]): Bundle[] {
  return bundles.map((b) => {
    if (b.name !== 'ai') return b;
    const data = structuredClone(b.data) as any;
    data.gavel.ai_config.budgets.seat_monthly_spend.by_subject.sam = { approval_at: 0.000001, cap_at: 0.002 };
    return { ...b, data };
  });
}

beforeAll(async () => {
  srv = await startInProcess({
    bundles: withSeatApproval(loadBundles(BUNDLES)),
    ledger: join(tempDir(), 'l.db'),
    now: clock.now,
    usage: { reservationTtlSeconds: 120 },
  });
  c = clients(srv.address);
});
afterAll(async () => {
  c.close();
  await srv.stop();
});

const reserved = async () => (await usageOf(c, 'subject', 'sam')).week.reserved_tokens as number;

/** A request's reservation is released in the transaction of the entry that ends it: the next read sees it gone. */
async function settled(expected: number): Promise<void> {
  expect(await reserved()).toBe(expected);
}

async function ask(): Promise<Record<string, any>> {
  const res = await decide(c, modelCall(sam, 'standard-m', 100));
  expect(res.decision).toBe('DECISION_REQUIRE_APPROVAL');
  expect(codes(res)).toContain('seat_spend_approval');
  expect(res.approval.approvers).toEqual(['role:team-lead']);
  return res;
}

describe('reservations of a call waiting for approval', () => {
  it('are held while the request is open, not doubled by a retry, and released by a rejection', async () => {
    const asked = await ask();
    const estimate = await reserved();
    expect(estimate).toBe(101);
    clock.advance(10 * 60_000); // five times the usual reservation time
    expect(await reserved()).toBe(estimate);
    const retry = await decide(c, { ...modelCall(sam, 'standard-m', 100), context: { environment: 'prod', approval_id: asked.approval.approval_id } });
    expect(retry.decision).toBe('DECISION_REQUIRE_APPROVAL');
    expect(codes(retry)).toContain('approval_pending');
    expect(retry.approval.approval_id).toBe(asked.approval.approval_id);
    expect(await reserved()).toBe(estimate);
    // Asked again without the id: the same open request, no second hold, no second request for the approvers.
    const again = await decide(c, modelCall(sam, 'standard-m', 100));
    expect(again.decision).toBe('DECISION_REQUIRE_APPROVAL');
    expect(again.approval.approval_id).toBe(asked.approval.approval_id);
    expect(await reserved()).toBe(estimate);
    await resolve(c, asked.approval.approval_id, 'VERDICT_REJECT', LEAD, 'over budget');
    await settled(0);
    expect(await srv.core.parts.usage!.charge(asked.decision_id)).toBeUndefined();
    // The rejection's entry is what records the release (README, "Usage"): the chain holds the request and its end.
    const approvalEntries = (await stream(c.audit, 'QueryDecisions', { kind: 'approval', ascending: true, limit: 1000 })).filter(
      (e) => e.request_id === asked.approval.approval_id,
    );
    expect(approvalEntries.map((e) => e.decision)).toEqual(['requested', 'rejected']);
  });

  it('are released when the request expires', async () => {
    const asked = await ask();
    expect(await reserved()).toBe(101);
    clock.advance(4 * 3600_000 + 1000);
    expect(await srv.core.parts.approvals!.sweep()).toBe(1);
    await settled(0);
    expect(await srv.core.parts.usage!.charge(asked.decision_id)).toBeUndefined();
    expect((await srv.core.parts.ledger.verify()).ok).toBe(true);
  });
  it('are taken over by the approved retry: counted once, settled by its report', async () => {
    const asked = await ask();
    await resolve(c, asked.approval.approval_id, 'VERDICT_APPROVE', LEAD);
    expect(await reserved()).toBe(101);
    const allowed = await decide(c, { ...modelCall(sam, 'standard-m', 100), context: { environment: 'prod', approval_id: asked.approval.approval_id } });
    expect(allowed.decision).toBe('DECISION_ALLOW');
    expect(codes(allowed)).toContain('approval_granted');
    // The retry saw usage without the request's own hold (else the policy would count the call twice).
    await settled(101);
    expect(await srv.core.parts.usage!.charge(asked.decision_id)).toBeUndefined();
    expect((await srv.core.parts.usage!.charge(allowed.decision_id))?.state).toBe('reserved');
    await report(c, allowed.decision_id, sam, 'standard-m', 20, 80);
    await settled(0);
    expect((await usageOf(c, 'subject', 'sam')).week.used_tokens).toBe(100);
  });
});
