import { describe, expect, it } from 'vitest';
import type { Approval } from '../../src/engine/approvals/approval.js';
import { approvalEventRecord } from '../../src/engine/approvals/records.js';

/**
 * The ledger record of an approval event, read field by field: what an auditor and the state
 * rebuild (state/derive.ts) find in the chain. The desk and serve tests reach these records through
 * whole flows; here each optional member is present exactly when its event or part says so.
 */
const NOW = new Date('2026-12-06T06:00:00.000Z');

function approval(over: Partial<Approval> = {}): Approval {
  return {
    id: 'apr-1',
    state: 'pending',
    fingerprint: 'f'.repeat(64),
    subjectId: 'agent-7',
    subjectType: 'agent',
    onBehalfOf: 'dana',
    team: 'platform',
    costCenter: 'cc-1',
    actionType: 'tool.call',
    resource: 'payments.refund',
    params: { amount: 120 },
    approvers: ['role:finance'],
    minApprovals: 1,
    createdAtMs: NOW.getTime(),
    expiresAtMs: NOW.getTime() + 3_600_000,
    requestedBy: 'decision-1',
    caller: 'gateway',
    policy: { bundle: 'ai', revision: 'rev-9', digest: 'sha256:abc' },
    votes: [],
    ...over,
  };
}

const payload = (record: ReturnType<typeof approvalEventRecord>) => (JSON.parse(record.payloadJcs!) as { approval: Record<string, unknown> }).approval;

describe('an approval event’s ledger record', () => {
  it('has a header that names the request, its event and its policy, and no reasons or entrypoint', () => {
    const record = approvalEventRecord({ event: 'requested', approval: approval(), caller: 'gateway', decisionId: 'decision-1', now: NOW });
    expect(record).toMatchObject({
      kind: 'approval',
      time: NOW.toISOString(),
      subjectId: 'agent-7',
      subjectType: 'agent',
      team: 'platform',
      costCenter: 'cc-1',
      actionType: 'approval.requested',
      resource: 'payments.refund',
      decision: 'requested',
      reasonCodes: [],
      bundle: 'ai',
      revision: 'rev-9',
      digest: 'sha256:abc',
      entrypoint: '',
      requestId: 'apr-1',
      caller: 'gateway',
    });
    expect(record.salt).toHaveLength(16);
  });

  it('carries the parameters the approver is shown only when requested, and marks a shared request', () => {
    const requested = payload(approvalEventRecord({ event: 'requested', approval: approval(), caller: 'gateway', now: NOW }));
    expect(requested.params).toEqual({ amount: 120 });
    expect(requested).not.toHaveProperty('store');
    const shared = payload(approvalEventRecord({ event: 'requested', approval: approval(), caller: 'gateway', shared: true, now: NOW }));
    expect(shared.store).toBe('shared');
    const expired = payload(approvalEventRecord({ event: 'expired', approval: approval({ state: 'expired' }), caller: 'gateway', shared: true, now: NOW }));
    expect(expired).not.toHaveProperty('params');
    expect(expired).not.toHaveProperty('store');
  });

  it('records a shared row’s version when it has one, version 0 included, and none otherwise', () => {
    expect(payload(approvalEventRecord({ event: 'expired', approval: approval(), caller: 'gavel', now: NOW }))).not.toHaveProperty('version');
    expect(payload(approvalEventRecord({ event: 'expired', approval: approval(), caller: 'gavel', version: 0, now: NOW })).version).toBe(0);
    expect(payload(approvalEventRecord({ event: 'expired', approval: approval(), caller: 'gavel', version: 3, now: NOW })).version).toBe(3);
  });

  it('names the form an approver’s id is compared in only when it differs from the id', () => {
    const vote = (id: string) => ({ approver: { id, roles: ['finance'] }, verdict: 'approve' as const, comment: 'ok', atMs: NOW.getTime(), caller: 'console' });
    const plain = payload(
      approvalEventRecord({ event: 'approved', approval: approval({ state: 'approved' }), vote: vote('erin'), caller: 'console', now: NOW }),
    );
    expect(plain.approver).toEqual({ id: 'erin', roles: ['finance'] });
    const folded = payload(
      approvalEventRecord({ event: 'approved', approval: approval({ state: 'approved' }), vote: vote('Erin'), caller: 'console', now: NOW }),
    );
    expect(folded.approver).toEqual({ id: 'Erin', roles: ['finance'], compared_as: 'erin' });
  });
});
