import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Approval } from '../../src/engine/approvals/approval.js';
import { ineligibility } from '../../src/engine/approvals/eligibility.js';
import { fingerprintOf } from '../../src/engine/approvals/fingerprint.js';
import { parseInputJson } from '../../src/engine/input.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { GavelError } from '../../src/lib/errors.js';
import { FIXTURE_BUNDLES, tempDir } from '../helpers/paths.js';
import { ECHO } from '../ledger/fixtures.js';
import { TestClock } from '../usage/helpers.js';
import { payloadTextOf } from '../helpers/payloads.js';

/**
 * People are compared as people read their names (lib/identity-form.ts), not
 * byte for byte: `Fiona` and full-width `ｆｉｏｎａ` are the subject `fiona` and
 * may not approve her request; `mia` followed by an invisible U+200D is
 * refused, never a second `mia`. And an approval binds the amount as written:
 * `50000.000000000001` is not `50000`. Driven through the engine with the echo
 * fixture policy (it answers whatever the input's `result` says).
 */
const cores: Runtime[] = [];
afterEach(async () => {
  for (const c of cores.splice(0)) await c.stop();
});

async function core() {
  const c = await startRuntime({
    bundles: FIXTURE_BUNDLES,
    ledger: join(tempDir(), 'l.db'),
    engine: { defaultEntrypoint: ECHO },
    usage: false,
    now: new TestClock(Date.parse('2026-11-24T10:00:00Z')).now,
  });
  cores.push(c);
  const decideText = (text: string) => c.decide({ policy: '', input: { json: Buffer.from(text) }, requestId: '', caller: 'gw' });
  const decide = (input: unknown) => decideText(JSON.stringify(input));
  return { core: c, desk: c.parts.approvals!, decide, decideText };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof GavelError)) throw new Error(`expected a GavelError, got ${String(err)}`);
  return `${err.code}: ${err.message}`;
}

const transfer = (subject: Record<string, unknown>, result: Record<string, unknown>, approvalId?: string) => ({
  subject,
  action: { type: 'tool.call', tool: 'payments.transfer', params: { amount: 1_000_000, to_account: 'ACME-001' } },
  ...(approvalId ? { context: { approval_id: approvalId } } : {}),
  result,
});
const asking = (min = 1) => ({ decision: 'require_approval', obligations: { approval: { approvers: ['role:lead'], min_approvals: min } } });
const ALLOW = { decision: 'allow' };
const FIONA = { id: 'fiona', type: 'user', team: 'finance', cost_center: 'cc-200' };

describe('approvers compared as people', () => {
  it('the subject under another case or in full-width may not approve her own request', async () => {
    const { desk, decide } = await core();
    const id = (await decide(transfer(FIONA, asking()))).approval!.id;
    for (const self of ['fiona', 'Fiona', 'FIONA', 'ｆｉｏｎａ', 'ﬁona']) {
      const why = await refusal(desk.resolve({ approvalId: id, verdict: 'approve', approver: { id: self, roles: ['lead'] }, comment: '', caller: 'ui' }));
      expect(why, self).toBe(`approver_not_allowed: ${self} is the subject of this request and may not approve it`);
    }
    expect((await desk.get(id)).state).toBe('pending');
  });

  it('one person casts one vote of a two-approver request, however the id is spelt; an invisible character is refused', async () => {
    const { desk, decide } = await core();
    const id = (await decide(transfer(FIONA, asking(2)))).approval!.id;
    const vote = (approverId: string) =>
      desk.resolve({ approvalId: id, verdict: 'approve', approver: { id: approverId, roles: ['lead'] }, comment: '', caller: 'ui' });
    expect((await vote('mia')).state).toBe('pending');
    expect(await refusal(vote('mia\u200d'))).toBe('invalid_approval: approver.id holds the invisible or control character U+200D');
    expect(await refusal(vote('m\u00adia'))).toBe('invalid_approval: approver.id holds the invisible or control character U+00AD');
    for (const again of ['Mia', 'ＭＩＡ'])
      expect(await refusal(vote(again))).toBe(`approver_not_allowed: ${again} has already voted on this request; each approval needs a distinct approver`);
    expect((await desk.get(id)).votes.map((v) => v.approver.id)).toEqual(['mia']);
    expect((await vote('noah')).state).toBe('approved');
  });

  it('eligibility: the delegator, an earlier voter and a user: approver are compared in the comparison form', () => {
    const base: Approval = {
      id: 'a',
      state: 'pending',
      fingerprint: 'f',
      subjectId: 'Sam',
      subjectType: 'agent',
      onBehalfOf: 'olga',
      team: 't',
      costCenter: 'c',
      actionType: 'tool.call',
      resource: 'x',
      params: {},
      approvers: ['role:lead', 'user:Zoe'],
      minApprovals: 2,
      createdAtMs: 0,
      expiresAtMs: 1000,
      requestedBy: 'd',
      caller: 'gw',
      policy: { bundle: 'b', revision: 'r', digest: 'g' },
      votes: [{ approver: { id: 'ＭＩＡ', roles: ['lead'] }, verdict: 'approve', comment: '', atMs: 0, caller: 'ui' }],
    };
    expect(ineligibility(base, { id: 'sam', roles: ['lead'] })).toMatch(/is the subject/);
    expect(ineligibility(base, { id: 'OLGA', roles: ['lead'] })).toMatch(/acts for/);
    expect(ineligibility(base, { id: 'mia', roles: ['lead'] })).toMatch(/already voted/);
    expect(ineligibility(base, { id: 'zoe', roles: [] })).toBeUndefined();
    expect(ineligibility(base, { id: 'zoé', roles: [] })).toMatch(/not one of the approvers/);
  });
});

describe('the subject, the delegator, team and cost center at Decide', () => {
  it.each([
    ['subject.id', { ...FIONA, id: 'mia\u200d' }, 'holds the invisible or control character U+200D'],
    ['subject.team', { ...FIONA, team: 'fin\u2060ance' }, 'holds the invisible or control character U+2060'],
    ['subject.cost_center', { ...FIONA, cost_center: 'cc-200\u0007' }, 'holds the invisible or control character U+0007'],
    ['subject.id', { ...FIONA, id: ' fiona' }, 'has surrounding spaces'],
    ['subject.on_behalf_of.id', { id: 'bot', type: 'agent', on_behalf_of: { id: 'fi\ufeffona' } }, 'holds the invisible or control character U+FEFF'],
    [
      'subject.on_behalf_of.team',
      { id: 'bot', type: 'agent', on_behalf_of: { id: 'fiona', team: 'finance\u200b' } },
      'holds the invisible or control character U+200B',
    ],
    [
      'subject.on_behalf_of.cost_center',
      { id: 'bot', type: 'agent', on_behalf_of: { id: 'fiona', cost_center: 'cc\u202e' } },
      'holds the invisible or control character U+202E',
    ],
  ])('%s (%#) is refused before evaluation, recording nothing', async (field, subject, problem) => {
    const { core: c, decide } = await core();
    expect(await refusal(decide(transfer(subject, ALLOW)))).toBe(`invalid_input: ${field} ${problem}; names are compared as people read them`);
    expect(c.parts.ledger.size).toBe(0);
  });

  it('a name that differs from its comparison form is stored as received, its form recorded beside it as compared_as', async () => {
    const { core: c, decide } = await core();
    const payload = (decisionId: string) => {
      const row = c.parts.ledger.db.prepare('SELECT e.subject_id, e.team, e.cost_center FROM entries e WHERE e.decision_id = ?').get(decisionId) as {
        subject_id: string;
        team: string;
        cost_center: string;
      };
      return { header: [row.subject_id, row.team, row.cost_center], body: JSON.parse(payloadTextOf(c.parts.ledger.db, decisionId)) as Record<string, any> };
    };
    const fiona = payload((await decide(transfer({ ...FIONA, id: 'Fiona', team: 'Ｆinance' }, ALLOW))).decisionId);
    expect(fiona.header).toEqual(['Fiona', 'Ｆinance', 'cc-200']);
    expect(fiona.body.input.subject).toMatchObject({ id: 'Fiona', team: 'Ｆinance' });
    expect(fiona.body.compared_as).toEqual({ subject_id: 'fiona', team: 'finance' });
    expect(payload((await decide(transfer(FIONA, ALLOW))).decisionId).body).not.toHaveProperty('compared_as');
  });
});

describe('the approval fingerprint', () => {
  it('binds ids, teams and cost centers in their comparison form: Fiona retrying fiona’s approved action uses it', async () => {
    const { desk, decide } = await core();
    const id = (await decide(transfer(FIONA, asking()))).approval!.id;
    await desk.resolve({ approvalId: id, verdict: 'approve', approver: { id: 'mia', roles: ['lead'] }, comment: '', caller: 'ui' });
    const used = await decide(transfer({ ...FIONA, id: 'Fiona', team: 'FINANCE', cost_center: 'ＣＣ-200' }, ALLOW, id));
    expect(used.approval).toMatchObject({ id, state: 'consumed' });

    const agent = (olga: string, team: string) => ({ subject: { id: 'Bot', on_behalf_of: { id: olga, team, cost_center: 'X' } } });
    expect(fingerprintOf(agent('Olga', 'Ops'))).toBe(fingerprintOf(agent('olga', 'ops')));
    expect(fingerprintOf(agent('olga', 'ops'))).not.toBe(fingerprintOf(agent('olgа', 'ops'))); // Cyrillic а: another name
  });

  it('binds the exact decimal of each number in params: 50000.000000000001 is not 50000’s approval (50000.0 is)', async () => {
    const { desk, decideText } = await core();
    const text = (amount: string, result: Record<string, unknown>, approvalId?: string) =>
      `{"subject":{"id":"fiona"},"action":{"type":"tool.call","tool":"payments.transfer","params":{"amount":${amount},"legs":[1,${amount}]}},${
        approvalId ? `"context":{"approval_id":"${approvalId}"},` : ''
      }"result":${JSON.stringify(result)}}`;
    const id = (await decideText(text('50000', asking()))).approval!.id;
    await desk.resolve({ approvalId: id, verdict: 'approve', approver: { id: 'mia', roles: ['lead'] }, comment: '', caller: 'ui' });
    expect((await decideText(text('50000.000000000001', ALLOW, id))).approval).toBeUndefined();
    expect((await desk.get(id)).state).toBe('approved');
    expect((await decideText(text('50000.0', ALLOW, id))).approval).toMatchObject({ id, state: 'consumed' });

    const fp = (t: string) => fingerprintOf(parseInputJson(Buffer.from(t), { maxInputBytes: 1 << 20, maxDepth: 64 }));
    const params = (p: string) => `{"action":{"params":${p}}}`;
    expect(fp(params('{"amount":50000.000000000001}'))).not.toBe(fp(params('{"amount":50000}')));
    expect(fp(params('{"amount":50000.000000000001}'))).not.toBe(fp(params('{"amount":50000.000000000002}')));
    expect(fp(params('{"amount":50000.000000000001}'))).toBe(fp(params('{"amount":5000000000000000.1e-11}')));
    expect(fp(params('{"a":[9007199254740993]}'))).not.toBe(fp(params('{"a":[9007199254740992]}')));
    expect(fp(params('{"amount":50000}'))).toBe(fp(params('{"amount":5e4}')));
    // Numbers a double holds exactly fingerprint as they always did (as the structured value does).
    expect(fp(params('{"amount":25000.5}'))).toBe(fingerprintOf({ action: { params: { amount: 25000.5 } } }));
  });
});
