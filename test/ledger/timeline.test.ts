import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { EntryRecord } from '../../src/engine/ledger.js';
import { policyEventRecord } from '../../src/engine/policy-event.js';
import { canonicalJson } from '../../src/lib/canonical.js';
import { ledgerConfig } from '../../src/ledger/config.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { timeline } from '../../src/ledger/timeline.js';
import { wireTimelineEvent } from '../../src/ledger/wire.js';

/**
 * `gavel audit timeline` read in this process: one subject's decisions and approval events oldest
 * first, the rules each fired, the reason codes seen for the first time (the lines crossed), the
 * week's tokens the decision saw, and the policy events between them.
 */
const T0 = Date.parse('2026-12-01T10:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);

function decision(
  s: number,
  reasons: Array<{ code: string; effect: string; rule: string }>,
  over: Partial<EntryRecord> = {},
  weekTokens?: unknown,
): EntryRecord {
  return {
    kind: 'decision',
    decisionId: `d-${s}`,
    time: at(s).toISOString(),
    subjectId: 'mia',
    subjectType: 'user',
    team: 'budget-test',
    costCenter: 'cc-400',
    actionType: 'model.invoke',
    resource: 'frontier-xl',
    decision: reasons.some((r) => r.effect === 'deny') ? 'deny' : 'allow',
    reasonCodes: reasons.map((r) => r.code),
    bundle: 'ai',
    revision: 'a-1',
    digest: 'sha256:a',
    entrypoint: 'gavel/ai/decision',
    requestId: '',
    caller: 'gateway',
    payloadJcs: canonicalJson({
      input: { subject: { id: 'mia' }, context: weekTokens === undefined ? {} : { usage: { subject: { week: { tokens: weekTokens } } } } },
      result: { reasons: [...reasons, 'not a reason'] },
    }),
    salt: randomBytes(16),
    ...over,
  };
}

function approval(s: number, event: string, payload: Record<string, unknown>, requestId = 'ap-1'): EntryRecord {
  return {
    ...decision(s, []),
    kind: 'approval',
    decisionId: `e-${s}`,
    actionType: 'tool.call',
    resource: 'payments.transfer',
    decision: event,
    reasonCodes: [],
    requestId,
    caller: 'approval-ui',
    payloadJcs: canonicalJson({ approval: payload }),
  };
}

const ALLOW = { code: 'allowed', effect: 'allow', rule: 'ai.allow' };
const TIER_DOWN = { code: 'budget_tier_down', effect: 'allow', rule: 'ai.budgets.team_ladder' };
const EXHAUSTED = { code: 'team_budget_exhausted', effect: 'deny', rule: 'ai.budgets.team_ladder' };

async function ledgerOf(records: EntryRecord[]): Promise<SqliteLedger> {
  const ledger = new SqliteLedger(ledgerConfig(':memory:'));
  for (const r of records) await ledger.append(r);
  return ledger;
}

describe('the incident timeline', () => {
  it('needs a subject or a team, and is empty when nothing matches', async () => {
    const ledger = await ledgerOf([decision(1, [ALLOW])]);
    expect(() => timeline(ledger.db, {})).toThrow(
      expect.objectContaining({ code: 'invalid_query', message: 'timeline needs --subject, --team or --cost-center' }),
    );
    expect(timeline(ledger.db, { subject: 'nobody' })).toEqual([]);
    await ledger.close();
  });

  it('marks the reason codes seen for the first time, lists the rules, and carries the week tokens the decision saw', async () => {
    const ledger = await ledgerOf([
      policyEventRecord({ result: 'activated', bundle: 'ai', revision: 'a-0', source: 'start' }, at(0)),
      policyEventRecord({ result: 'activated', bundle: 'ai', revision: 'a-1', source: 'start' }, at(0)),
      decision(1, [ALLOW], {}, 100),
      decision(2, [TIER_DOWN, ALLOW], {}, 4100),
      policyEventRecord({ result: 'activated', bundle: 'ai', revision: 'a-2', source: 'start' }, at(3)),
      decision(4, [TIER_DOWN], {}, 'many'),
      decision(5, [EXHAUSTED, { code: 'allowed', effect: 'deny', rule: 'odd' }]),
      decision(6, [ALLOW], { subjectId: 'noah' }),
    ]);
    const events = timeline(ledger.db, { subject: 'mia' });
    expect(events.map((e) => [e.kind, e.seq, e.decision, e.crossed, e.weekTokens, e.revision, e.subjectId])).toEqual([
      ['policy', 2, 'activated', [], undefined, 'a-1', ''],
      ['decision', 3, 'allow', [], 100, undefined, 'mia'],
      ['decision', 4, 'allow', ['budget_tier_down'], 4100, undefined, 'mia'],
      ['policy', 5, 'activated', [], undefined, 'a-2', ''],
      ['decision', 6, 'allow', [], undefined, undefined, 'mia'],
      ['decision', 7, 'deny', ['team_budget_exhausted'], undefined, undefined, 'mia'],
    ]);
    expect(events[2]!.rules).toEqual(['ai.budgets.team_ladder (budget_tier_down)', 'ai.allow (allowed)']);
    expect(events[1]).toMatchObject({ time: at(1).toISOString(), decisionId: 'd-1', action: 'model.invoke', resource: 'frontier-xl' });
    await ledger.close();
  });

  it('tells each approval event with its request, votes and approver, reading odd payload fields as empty', async () => {
    const ledger = await ledgerOf([
      decision(1, [{ code: 'amount_requires_approval', effect: 'require_approval', rule: 'ai.tools.amount' }]),
      approval(2, 'requested', {
        id: 'ap-1',
        state: 'pending',
        decision_id: 'd-1',
        approvals: 0,
        min_approvals: 2,
        approvers: ['role:finance-manager', 7],
        expires_at: '2026-12-01T14:00:00.000Z',
      }),
      approval(3, 'approved', { id: 'ap-1', state: 'approved', approvals: 'one', approver: { id: 'mia-m', roles: ['finance-manager', null] }, comment: 'ok' }),
      approval(4, 'expired', {}, 'ap-9'),
    ]);
    const [, requested, approved, expired] = timeline(ledger.db, { subject: 'mia' });
    expect(requested!.approval).toEqual({
      id: 'ap-1',
      event: 'requested',
      state: 'pending',
      decisionId: 'd-1',
      approvals: 0,
      minApprovals: 2,
      approvers: ['role:finance-manager'],
      expiresAt: '2026-12-01T14:00:00.000Z',
      caller: 'approval-ui',
    });
    expect(approved!.approval).toEqual({
      id: 'ap-1',
      event: 'approved',
      state: 'approved',
      decisionId: '',
      approvals: 0,
      minApprovals: 0,
      approvers: [],
      expiresAt: '',
      caller: 'approval-ui',
      approver: { id: 'mia-m', roles: ['finance-manager'] },
      comment: 'ok',
    });
    // No id in the payload: the request id the entry's header carries.
    expect(expired!.approval).toMatchObject({ id: 'ap-9', event: 'expired', state: '' });
    expect(expired!.approval).not.toHaveProperty('approver');
    await ledger.close();
  });

  it('prints each event in the wire names `gavel audit timeline --json` uses', async () => {
    const ledger = await ledgerOf([
      policyEventRecord({ result: 'activated', bundle: 'ai', revision: 'a-1', source: 'start' }, at(0)),
      decision(1, [TIER_DOWN], {}, 4100),
      approval(2, 'approved', { id: 'ap-1', state: 'approved', approver: { id: 'mia-m', roles: ['finance-manager'] } }),
      approval(3, 'requested', { id: 'ap-2', state: 'pending', approvers: ['role:finance-manager'], min_approvals: 1 }),
    ]);
    const [policy, decided, approved, requested] = timeline(ledger.db, { subject: 'mia' }).map(wireTimelineEvent);
    expect(policy).toEqual({
      kind: 'policy',
      seq: 1,
      time: at(0).toISOString(),
      decision_id: policy!.decision_id,
      subject_id: '',
      action_type: 'policy.activated',
      resource: 'ai',
      decision: 'activated',
      rules: [],
      crossed: [],
      revision: 'a-1',
    });
    expect(decided).toMatchObject({ kind: 'decision', week_tokens: 4100, crossed: ['budget_tier_down'] });
    expect(decided).not.toHaveProperty('revision');
    expect(decided).not.toHaveProperty('approval');
    // An approver's vote without a comment prints an empty one; a request has no approver.
    expect(approved!.approval).toEqual({
      id: 'ap-1',
      event: 'approved',
      state: 'approved',
      decision_id: '',
      approver: { id: 'mia-m', roles: ['finance-manager'] },
      comment: '',
      approvals: 0,
      min_approvals: 0,
      approvers: [],
      expires_at: '',
      caller: 'approval-ui',
    });
    expect(requested!.approval).not.toHaveProperty('approver');
    expect(requested!.approval).not.toHaveProperty('comment');
    expect(requested!.approval).toMatchObject({ id: 'ap-2', min_approvals: 1, approvers: ['role:finance-manager'] });
    await ledger.close();
  });
});
