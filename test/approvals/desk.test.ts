import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { approvalsGiven, contextOf, isDue, isTerminal, type Approval } from '../../src/engine/approvals/approval.js';
import { approvalsConfig, parseExpiresIn } from '../../src/engine/approvals/config.js';
import { ApprovalDesk } from '../../src/engine/approvals/desk.js';
import type { ApprovalStore } from '../../src/engine/approvals/store.js';
import type { Ledger } from '../../src/engine/ledger.js';
import { ineligibility } from '../../src/engine/approvals/eligibility.js';
import { bindingOf, fingerprintOf } from '../../src/engine/approvals/fingerprint.js';
import { startRuntime, type Runtime, type RuntimeConfig } from '../../src/runtime.js';
import { GavelError } from '../../src/lib/errors.js';
import { FIXTURE_BUNDLES, tempDir } from '../helpers/paths.js';
import { ECHO, echoInput } from '../ledger/fixtures.js';
import { TestClock } from '../usage/helpers.js';

/**
 * The approval desk and its pieces, driven through the engine with the echo
 * fixture policy (which answers whatever the input's `result` says), so each
 * obligation and outcome the desk must handle can be asked for directly.
 */
const cores: Runtime[] = [];
afterEach(async () => {
  for (const c of cores.splice(0)) await c.stop();
});

async function core(extra: Partial<RuntimeConfig> = {}, clock = new TestClock(Date.parse('2026-11-24T10:00:00Z'))) {
  const c = await startRuntime({
    bundles: FIXTURE_BUNDLES,
    ledger: join(tempDir(), 'l.db'),
    engine: { defaultEntrypoint: ECHO },
    usage: false,
    now: clock.now,
    ...extra,
  });
  cores.push(c);
  const decide = (input: unknown) => c.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: '', caller: 'gw' });
  return { core: c, desk: c.parts.approvals!, decide, clock };
}

const asking = (obligations: Record<string, unknown>, over: Record<string, unknown> = {}) =>
  echoInput({
    subject: 'sam',
    tool: 'payments.transfer',
    action: 'tool.call',
    result: { decision: 'require_approval', obligations: { approval: obligations } },
    ...over,
  });
const granted = (id: string) =>
  echoInput({ subject: 'sam', tool: 'payments.transfer', action: 'tool.call', decision: 'allow', extra: { context: { approval_id: id } } });
const kinds = (c: Runtime) =>
  (c.parts.ledger.db.prepare("SELECT decision FROM entries WHERE kind = 'approval' ORDER BY seq").all() as Array<{ decision: string }>).map((r) => r.decision);
const approver = { id: 'mia', roles: ['lead'] };

describe('a request from the policy obligation', () => {
  it('takes the approvers (strings only, deduplicated, sorted), min_approvals and expires_in the policy asked for', async () => {
    const { decide } = await core();
    const d = await decide(asking({ approvers: ['user:zoe', 'role:lead', 'role:lead', 7, ''], min_approvals: 3, expires_in: '30m' }));
    expect(d.approval).toMatchObject({ approvers: ['role:lead', 'user:zoe'], minApprovals: 3, expiresAt: '2026-11-24T10:30:00.000Z', state: 'pending' });
  });

  it('falls back to the configured defaults for what is missing or unreadable, and caps what is too much', async () => {
    const { decide } = await core({ approvals: { defaultApprovers: ['role:security'], defaultExpiresSeconds: 600, maxExpiresSeconds: 3600 } });
    for (const [obligation, expected] of [
      [{}, { approvers: ['role:security'], minApprovals: 1, expiresAt: '2026-11-24T10:10:00.000Z' }],
      [
        { approvers: [], min_approvals: 0, expires_in: 'soon' },
        { approvers: ['role:security'], minApprovals: 1, expiresAt: '2026-11-24T10:10:00.000Z' },
      ],
      [
        { min_approvals: 1.5, expires_in: 90 },
        { minApprovals: 1, expiresAt: '2026-11-24T10:01:30.000Z' },
      ],
      [{ min_approvals: '2' }, { minApprovals: 1 }],
      [
        { min_approvals: 50, expires_in: '2d' },
        { minApprovals: 10, expiresAt: '2026-11-24T11:00:00.000Z' },
      ],
    ] as const) {
      const d = await decide(asking(obligation as Record<string, unknown>, { team: `t-${JSON.stringify(obligation)}` }));
      expect(d.approval, JSON.stringify(obligation)).toMatchObject(expected);
    }
  });
});

describe('identical asks', () => {
  it('five identical REQUIRE_APPROVAL calls at once make one request, and every answer names it', async () => {
    const { core: c, decide } = await core();
    const answers = await Promise.all(Array.from({ length: 5 }, () => decide(asking({ approvers: ['role:lead'] }))));
    expect(new Set(answers.map((a) => a.approval!.id)).size).toBe(1);
    expect((c.parts.ledger.db.prepare('SELECT COUNT(*) AS n FROM approvals').get() as { n: number }).n).toBe(1);
    expect(kinds(c)).toEqual(['requested']);
  });
});

describe('resolving', () => {
  it('records approved and rejected as their own events, and refuses bad requests with invalid_approval', async () => {
    const { core: c, desk, decide } = await core();
    const a = (await decide(asking({ approvers: ['role:lead'] }))).approval!.id;
    const b = (await decide(asking({ approvers: ['role:lead'] }, { team: 'other' }))).approval!.id;
    await desk.resolve({ approvalId: a, verdict: 'approve', approver, comment: 'ok', caller: 'ui' });
    await desk.resolve({ approvalId: b, verdict: 'reject', approver, comment: 'no', caller: 'ui' });
    expect(kinds(c)).toEqual(['requested', 'requested', 'approved', 'rejected']);
    // Resolved with no access file in front: the roles are the word of the front end that named the approver, and the entry says so.
    const [vote] = [...c.audit.query({ kind: 'approval', requestId: a, limit: 10 })].filter((e) => e.decision === 'approved');
    expect((c.audit.get(vote!.decisionId)!.payload as { approval: { approver: unknown } }).approval.approver).toEqual({
      id: 'mia',
      roles: ['lead'],
      roles_from: 'asserted',
      named_by: 'ui',
    });
    const bad = async (over: Record<string, unknown>) => {
      const err = await desk.resolve({ approvalId: b, verdict: 'approve', approver, comment: '', caller: 'ui', ...over } as never).catch((e: unknown) => e);
      expect(err, JSON.stringify(over).slice(0, 80)).toBeInstanceOf(GavelError);
      return `${(err as GavelError).code}: ${(err as GavelError).message}`;
    };
    expect(await bad({ approvalId: '' })).toBe('invalid_approval: approval_id is required');
    expect(await bad({ approvalId: 'x'.repeat(129) })).toBe('invalid_approval: approval_id is longer than 128 bytes');
    expect(await bad({ approvalId: 'x'.repeat(128) })).toBe(`approval_not_found: no approval has id "${'x'.repeat(128)}"`);
    expect(await bad({ verdict: 'maybe' })).toBe('invalid_approval: verdict must be APPROVE or REJECT');
    expect(await bad({ approver: { id: '', roles: ['lead'] } })).toMatch(/^invalid_approval: approver\.id is required/);
    expect(await bad({ approver: { id: 'm'.repeat(257), roles: ['lead'] } })).toBe('invalid_approval: approver.id is longer than 256 bytes');
    expect(await bad({ approver: { id: 'm'.repeat(256), roles: ['lead'] } })).toMatch(/^approval_not_pending: approval \S+ is rejected/);
    expect(await bad({ approver: { id: ' mia', roles: ['lead'] } })).toBe('invalid_approval: approver.id must not have surrounding spaces');
    expect(await bad({ approver: { id: 'mi\u0007a', roles: ['lead'] } })).toBe('invalid_approval: approver.id holds the invisible or control character U+0007');
    expect(await bad({ approver: { id: 'mia', roles: Array.from({ length: 65 }, (_, i) => `r${i}`) } })).toBe(
      'invalid_approval: approver.roles has more than 64 roles',
    );
    expect(await bad({ approver: { id: 'mia', roles: Array.from({ length: 64 }, (_, i) => `r${i}`) } })).toMatch(/^approval_not_pending/);
    expect(await bad({ approver: { id: 'mia', roles: ['lead', ''] } })).toBe('invalid_approval: approver.roles must be non-empty names');
    expect(await bad({ approver: { id: 'mia', roles: ['l'.repeat(257)] } })).toBe('invalid_approval: approver.roles must be non-empty names');
    expect(await bad({ approver: { id: 'mia', roles: ['l'.repeat(256)] } })).toMatch(/^approval_not_pending/);
    expect(await bad({ comment: 'c'.repeat(4097) })).toBe('invalid_approval: comment is longer than 4096 characters');
    expect(await bad({ comment: 'c'.repeat(4096) })).toMatch(/^approval_not_pending/);
  });

  it('a change whose entry does not commit changes nothing and tells no watcher', async () => {
    let failing = false;
    const { desk, decide } = await core({
      ledgerFaults: {
        beforeCommit: () => {
          if (failing) throw new Error('disk full');
        },
      },
    });
    const id = (await decide(asking({ approvers: ['role:lead'] }))).approval!.id;
    const heard: string[] = [];
    desk.watch(id, (a) => heard.push(a.state));
    failing = true;
    const err = await desk.resolve({ approvalId: id, verdict: 'approve', approver, comment: '', caller: 'ui' }).catch((e: unknown) => e);
    expect((err as GavelError).code).toBe('ledger_unavailable');
    failing = false;
    expect((await desk.get(id)).state).toBe('pending');
    expect(heard).toEqual([]);
    await desk.resolve({ approvalId: id, verdict: 'approve', approver, comment: '', caller: 'ui' });
    expect(heard).toEqual(['approved']);
  });

  it('an unsubscribed watcher hears nothing more; an unknown id is approval_not_found', async () => {
    const { desk, decide } = await core();
    const id = (await decide(asking({ approvers: ['role:lead'], min_approvals: 2 }))).approval!.id;
    const heard: number[] = [];
    const stop = desk.watch(id, (a) => heard.push(a.votes.length));
    await desk.resolve({ approvalId: id, verdict: 'approve', approver, comment: '', caller: 'ui' });
    stop();
    await desk.resolve({ approvalId: id, verdict: 'approve', approver: { id: 'noah', roles: ['lead'] }, comment: '', caller: 'ui' });
    expect(heard).toEqual([1]);
    expect(((await desk.get('nope').catch((e: unknown) => e)) as GavelError).code).toBe('approval_not_found');
  });
});

describe('using an approval', () => {
  it('only an approved approval for exactly this action, carried and unexpired, is used — even when the policy allows anyway', async () => {
    const { desk, decide, clock } = await core();
    const pending = (await decide(asking({ approvers: ['role:lead'] }))).approval!.id;
    expect((await decide(granted(pending))).approval).toBeUndefined();
    expect((await desk.get(pending)).state).toBe('pending');
    await desk.resolve({ approvalId: pending, verdict: 'approve', approver, comment: '', caller: 'ui' });
    // Allowed, but for another action (another payer): the approval is not this decision's to use.
    const other = echoInput({
      subject: 'sam',
      team: 'elsewhere',
      tool: 'payments.transfer',
      action: 'tool.call',
      decision: 'allow',
      extra: { context: { approval_id: pending } },
    });
    expect((await decide(other)).approval).toBeUndefined();
    expect((await desk.get(pending)).state).toBe('approved');
    // Carried past its expiry, with no read or sweep before: expired by the lookup, not used.
    clock.advance(4 * 3600_000 + 1);
    const late = await decide(granted(pending));
    expect(late.approval).toBeUndefined();
    const db = cores[0]!.parts.ledger.db;
    expect((db.prepare('SELECT state FROM approvals WHERE id = ?').get(pending) as { state: string }).state).toBe('expired');
    expect(desk.events()).toEqual(
      new Map([
        ['requested', 1],
        ['approved', 1],
        ['expired', 1],
      ]),
    );
  });

  it('a denied decision leaves it approved; an allowed or redacted one uses it', async () => {
    const { core: c, desk, decide } = await core();
    const id = (await decide(asking({ approvers: ['role:lead'] }))).approval!.id;
    await desk.resolve({ approvalId: id, verdict: 'approve', approver, comment: '', caller: 'ui' });
    const denied = echoInput({ subject: 'sam', tool: 'payments.transfer', action: 'tool.call', decision: 'deny', extra: { context: { approval_id: id } } });
    expect((await decide(denied)).decision).toBe('deny');
    expect((await desk.get(id)).state).toBe('approved');
    const asked = await decide(asking({ approvers: ['role:lead'] }, { extra: { context: { approval_id: id } } }));
    expect(asked.approval).toMatchObject({ id, state: 'approved' });
    const redacted = echoInput({
      subject: 'sam',
      tool: 'payments.transfer',
      action: 'tool.call',
      result: { decision: 'redact', redactions: [{ path: '/action/params', kind: 'x' }] },
      extra: { context: { approval_id: id } },
    });
    const used = await decide(redacted);
    expect(used.decision).toBe('redact');
    expect(used.approval).toMatchObject({ id, state: 'consumed' });
    expect(kinds(c)).toEqual(['requested', 'approved', 'consumed']);
    const second = (await decide(asking({ approvers: ['role:lead'] }))).approval!.id;
    await desk.resolve({ approvalId: second, verdict: 'approve', approver, comment: '', caller: 'ui' });
    expect((await decide(granted(second))).approval).toMatchObject({ id: second, state: 'consumed' });
  });
});

describe('the sweep', () => {
  it('runs every sweepSeconds once started, and not after stop', async () => {
    const clock = new TestClock(Date.parse('2026-11-24T10:00:00Z'));
    const { desk, decide } = await core({ approvals: { sweepSeconds: 1 } }, clock);
    desk.start(); // already started by the core: a second start adds no second timer, so one stop stops it
    const id = (await decide(asking({ approvers: ['role:lead'], expires_in: '60s' }))).approval!.id;
    clock.advance(61_000);
    const store = () => cores[0]!.parts.ledger.db.prepare('SELECT state FROM approvals WHERE id = ?').get(id) as { state: string };
    expect(store().state).toBe('pending');
    await new Promise((r) => setTimeout(r, 1500));
    expect(store().state).toBe('expired');
    desk.stop();
    const later = (await decide(asking({ approvers: ['role:lead'], expires_in: '60s' }, { team: 'later' }))).approval!.id;
    clock.advance(61_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect((cores[0]!.parts.ledger.db.prepare('SELECT state FROM approvals WHERE id = ?').get(later) as { state: string }).state).toBe('pending');
  });
});

describe('sweeps one after another', () => {
  it('each looks again: a request that fell due after the first sweep is expired by the next', async () => {
    const clock = new TestClock(Date.parse('2026-11-24T10:00:00Z'));
    const { desk, decide } = await core({}, clock);
    desk.stop();
    await decide(asking({ approvers: ['role:lead'], expires_in: '60s' }));
    const second = (await decide(asking({ approvers: ['role:lead'], expires_in: '120s' }, { team: 'second' }))).approval!.id;
    clock.advance(61_000);
    expect(await desk.sweep()).toBe(1);
    clock.advance(60_000);
    expect(await desk.sweep()).toBe(1);
    // Read from the file (a desk read would expire a due request itself).
    expect(kinds(cores[0]!)).toEqual(['requested', 'requested', 'expired', 'expired']);
    expect((cores[0]!.parts.ledger.db.prepare('SELECT state FROM approvals WHERE id = ?').get(second) as { state: string }).state).toBe('expired');
  });
});

describe('the sweep timer', () => {
  it('a sweep that fails is reported to onError, and the next one still runs', async () => {
    const errors: string[] = [];
    const store = {
      due: async () => {
        throw new Error('database is locked');
      },
    } as unknown as ApprovalStore;
    const desk = new ApprovalDesk({
      store,
      ledger: {} as Ledger,
      config: approvalsConfig({ sweepSeconds: 1 }),
      now: () => new Date(),
      onError: (_e, what) => errors.push(what),
    });
    desk.start();
    await new Promise((r) => setTimeout(r, 2300));
    desk.stop();
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(new Set(errors)).toEqual(new Set(['approval sweep']));
  });
});

describe('defaults', () => {
  it('a policy asking for one approval gets one, whatever the default', async () => {
    const { decide } = await core({ approvals: { defaultMinApprovals: 2 } });
    expect((await decide(asking({ min_approvals: 1 }))).approval!.minApprovals).toBe(1);
    expect((await decide(asking({}, { team: 'x' }))).approval!.minApprovals).toBe(2);
  });
});

describe('the pieces', () => {
  const base: Approval = {
    id: 'a',
    state: 'pending',
    fingerprint: 'f',
    subjectId: 'sam',
    subjectType: 'agent',
    onBehalfOf: 'olga',
    team: 't',
    costCenter: 'c',
    actionType: 'tool.call',
    resource: 'x',
    params: {},
    approvers: ['role:lead', 'user:zoe', 'finance'],
    minApprovals: 1,
    createdAtMs: 0,
    expiresAtMs: 1000,
    requestedBy: 'd',
    caller: 'gw',
    policy: { bundle: 'b', revision: 'r', digest: 'g' },
    votes: [],
  };

  it('eligibility: by role:, by bare role, as user:; never the subject, the delegator, twice, or an empty role', () => {
    expect(ineligibility(base, { id: 'mia', roles: ['lead'] })).toBeUndefined();
    expect(ineligibility(base, { id: 'mia', roles: ['finance'] })).toBeUndefined();
    expect(ineligibility(base, { id: 'zoe', roles: [] })).toBeUndefined();
    expect(ineligibility(base, { id: 'zed', roles: ['user:zoe', 'role:lead'] })).toBe(
      'zed is not one of the approvers this request names (role:lead, user:zoe, finance)',
    );
    expect(ineligibility({ ...base, approvers: ['role:'] }, { id: 'mia', roles: [''] })).toMatch(/not one of the approvers/);
    expect(ineligibility(base, { id: 'sam', roles: ['lead'] })).toMatch(/is the subject/);
    expect(ineligibility(base, { id: 'olga', roles: ['lead'] })).toMatch(/acts for/);
    expect(ineligibility({ ...base, onBehalfOf: '' }, { id: '', roles: ['lead'] })).toBeUndefined();
    const voted = { ...base, votes: [{ approver: { id: 'mia', roles: ['lead'] }, verdict: 'approve' as const, comment: '', atMs: 0, caller: 'ui' }] };
    expect(ineligibility(voted, { id: 'mia', roles: ['lead'] })).toMatch(/already voted/);
  });

  it('states: terminal, due at the expiry, votes counted only when approving, the context of an unknown id', () => {
    expect(['pending', 'approved', 'rejected', 'expired', 'consumed'].filter((s) => isTerminal(s as never))).toEqual(['rejected', 'expired', 'consumed']);
    expect([isDue(base, 999), isDue(base, 1000), isDue({ ...base, state: 'approved' }, 1000), isDue({ ...base, state: 'consumed' }, 5000)]).toEqual([
      false,
      true,
      true,
      false,
    ]);
    const reject = { approver: { id: 'x', roles: [] }, verdict: 'reject' as const, comment: '', atMs: 0, caller: '' };
    expect(approvalsGiven({ ...base, votes: [reject, { ...reject, verdict: 'approve' }] })).toBe(1);
    expect(contextOf(undefined, 'q', 'f')).toEqual({ id: 'q', state: 'unknown', approvers: [], matches: false });
    const ctx = contextOf(base, 'a', 'f');
    expect(ctx).toEqual({ id: 'a', state: 'pending', approvers: base.approvers, matches: true });
    expect(ctx.approvers).not.toBe(base.approvers);
    expect(contextOf(base, 'a', 'g').matches).toBe(false);
  });

  it('fingerprint: what binds (subject, delegator, payer, tool, model, params) and what does not (roles, content, context)', () => {
    const input = {
      subject: { id: 'sam', type: 'agent', roles: ['a'], team: 't', cost_center: 'c', on_behalf_of: { id: 'olga', team: 't2', cost_center: 'c2' } },
      action: { type: 'tool.call', tool: 'pay', params: { amount: 10 } },
      content: { prompt: 'x' },
      context: { environment: 'prod' },
    };
    const f = fingerprintOf(input);
    const changed = (mutate: (i: any) => void) => {
      const copy = structuredClone(input) as any;
      mutate(copy);
      return fingerprintOf(copy);
    };
    for (const m of [
      (i: any) => (i.subject.id = 'sid'),
      (i: any) => (i.subject.type = 'user'),
      (i: any) => (i.subject.team = 'x'),
      (i: any) => (i.subject.cost_center = 'x'),
      (i: any) => (i.subject.on_behalf_of.id = 'x'),
      (i: any) => (i.subject.on_behalf_of.team = 'x'),
      (i: any) => (i.subject.on_behalf_of.cost_center = 'x'),
      (i: any) => delete i.subject.on_behalf_of,
      (i: any) => (i.action.type = 'data.export'),
      (i: any) => (i.action.tool = 'other'),
      (i: any) => (i.action.model = 'm'),
      (i: any) => (i.action.params.amount = '10'),
    ])
      expect(changed(m), String(m)).not.toBe(f);
    for (const m of [(i: any) => (i.subject.roles = ['b']), (i: any) => (i.content.prompt = 'y'), (i: any) => (i.context.environment = 'dev')])
      expect(changed(m)).toBe(f);
    // Absent and null are the same "nothing".
    expect(fingerprintOf({ subject: {} })).toBe(fingerprintOf({ subject: { id: null }, action: { params: null } }));
  });

  it('the approval id an input carries: a string of at most 128 bytes', () => {
    expect(bindingOf({ context: { approval_id: 'a'.repeat(128) } }).approvalId).toBe('a'.repeat(128));
    expect(bindingOf({}).approvalId).toBe('');
    expect(bindingOf({ subject: { on_behalf_of: { id: 'olga' } } }).onBehalfOf).toBe('olga');
    for (const bad of [42, 'a'.repeat(129)]) {
      const err = (() => {
        try {
          bindingOf({ context: { approval_id: bad } });
        } catch (e) {
          return e as GavelError;
        }
      })();
      expect(err?.code).toBe('invalid_input');
      expect(err?.message).toMatch(/context\.approval_id/);
    }
  });

  it('config: durations and validation name the key', () => {
    expect([parseExpiresIn('90s'), parseExpiresIn('30m'), parseExpiresIn(' 4h '), parseExpiresIn('2d'), parseExpiresIn(60)]).toEqual([
      90, 1800, 14_400, 172_800, 60,
    ]);
    for (const bad of ['0s', 'h', '4', '4x', '1234567890s', 'x4h', '4hh', '', 0, -1, 1.5, null, true]) expect(parseExpiresIn(bad), String(bad)).toBeUndefined();
    expect(parseExpiresIn('123456789s')).toBe(123_456_789);
    const invalid = (over: object) => {
      try {
        approvalsConfig(over);
      } catch (e) {
        expect((e as GavelError).code).toBe('config_invalid');
        return (e as GavelError).message;
      }
      return 'valid';
    };
    expect(invalid({})).toBe('valid');
    expect(invalid({ defaultApprovers: [] })).toMatch(/approvals\.defaultApprovers/);
    expect(invalid({ defaultApprovers: ['a', ''] })).toMatch(/approvals\.defaultApprovers/);
    expect(invalid({ defaultApprovers: ['a', 3] })).toMatch(/approvals\.defaultApprovers/);
    expect(invalid({ defaultApprovers: 'role:x' })).toMatch(/approvals\.defaultApprovers/);
    expect(invalid({ defaultMinApprovals: 0 })).toMatch(/approvals\.defaultMinApprovals/);
    expect(invalid({ defaultMinApprovals: 10 })).toBe('valid');
    expect(invalid({ defaultMinApprovals: 11 })).toMatch(/approvals\.defaultMinApprovals \(at most 10\)/);
    expect(invalid({ defaultExpiresSeconds: 0 })).toMatch(/approvals\.defaultExpiresSeconds/);
    expect(invalid({ maxExpiresSeconds: 0 })).toMatch(/approvals\.maxExpiresSeconds/);
    expect(invalid({ sweepSeconds: 0 })).toMatch(/approvals\.sweepSeconds/);
    expect(invalid({ defaultExpiresSeconds: 100, maxExpiresSeconds: 100 })).toBe('valid');
    expect(invalid({ defaultExpiresSeconds: 101, maxExpiresSeconds: 100 })).toMatch(/must not exceed approvals\.maxExpiresSeconds/);
  });
});
