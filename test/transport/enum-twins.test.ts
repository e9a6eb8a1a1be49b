import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTO_FILES, PROTO_ROOT } from '../../src/transport/proto.js';
import { APPROVAL_STATE, DECISION, ENTRY_KIND, MISMATCH_PROBLEM, USAGE_SCOPE, VERDICT, type EnumTwin } from '../../src/transport/enum-twins.js';
import { codes, decide as decideNow, FIONA, MANAGER, resolve, transfer } from '../approvals/helpers.js';
import { clients, stream, unary, unaryError, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { editStateTables } from '../helpers/state-edit.js';
import { modelCall, report, TestClock } from '../usage/helpers.js';

/**
 * The string fields with a fixed set of values have enum twins in the protos: answers carry both,
 * requests may filter by either (both only when they agree), and the code's sets are the protos'.
 */
const T0 = Date.parse('2026-11-24T10:00:00Z');
const clock = new TestClock(T0);
let srv: InProcessServer;
let c: Clients;
const ledger = join(tempDir(), 'ledger.db');

beforeAll(async () => {
  srv = await startInProcess({ bundles: BUNDLES, ledger, now: clock.now, state: { checkMs: 3_600_000 } });
  c = clients(srv.address);
});
afterAll(async () => {
  c.close();
  await srv.stop();
});

const decide = (input: unknown) => {
  clock.advance(61_000);
  return decideNow(c, input);
};
const dana = { subject: 'dana', team: 'platform', costCenter: 'cc-100' };

describe('enum twins', () => {
  it("each twin's values are its proto enum's, in the enum's prefix", () => {
    const root = new protobuf.Root();
    root.resolvePath = (_o, target) => join(PROTO_ROOT, target);
    root.loadSync(PROTO_FILES, { keepCase: true });
    const pairs: Array<[EnumTwin, string]> = [
      [DECISION, 'gavel.v1.Decision'],
      [APPROVAL_STATE, 'gavel.v1.ApprovalState'],
      [ENTRY_KIND, 'gavel.v1.EntryKind'],
      [VERDICT, 'gavel.v1.Verdict'],
      [USAGE_SCOPE, 'gavel.v1.UsageScope'],
      [MISMATCH_PROBLEM, 'gavel.v1.MismatchProblem'],
    ];
    for (const [twin, name] of pairs) {
      const proto = Object.keys(root.lookupEnum(name).values).sort();
      expect([name, proto]).toEqual([name, [`${twin.prefix}_UNSPECIFIED`, ...twin.values.map((v) => `${twin.prefix}_${v.toUpperCase()}`)].sort()]);
    }
  });

  it("a decision's reasons and approval carry them; so do the approval and its votes", async () => {
    const asked = await decide(transfer(25_000));
    expect(asked.decision).toBe('DECISION_REQUIRE_APPROVAL');
    expect(asked.reasons.length).toBeGreaterThan(0);
    for (const r of asked.reasons) expect(r.effect_enum).toBe(`DECISION_${r.effect.toUpperCase()}`);
    expect(asked.reasons.map((r: { effect_enum: string }) => r.effect_enum)).toContain('DECISION_REQUIRE_APPROVAL');
    expect(asked.approval).toMatchObject({ state: 'pending', state_enum: 'APPROVAL_STATE_PENDING' });

    const approved = await resolve(c, asked.approval.approval_id, 'VERDICT_APPROVE', MANAGER, 'ok');
    expect(approved).toMatchObject({ state: 'approved', state_enum: 'APPROVAL_STATE_APPROVED' });
    expect(approved.votes).toMatchObject([{ verdict: 'approve', verdict_enum: 'VERDICT_APPROVE' }]);
    const used = await decide(transfer(25_000, { approvalId: asked.approval.approval_id }));
    expect(codes(used)).toContain('approval_granted');
    expect(used.approval).toMatchObject({ state: 'consumed', state_enum: 'APPROVAL_STATE_CONSUMED' });

    const listed = await unary(c.approval, 'ListApprovals', { state_enum: 'APPROVAL_STATE_CONSUMED' });
    expect(listed.approvals.map((a: { approval_id: string }) => a.approval_id)).toEqual([asked.approval.approval_id]);
    expect(listed.approvals[0].subject_id).toBe(FIONA.id);
    expect((await unary(c.approval, 'ListApprovals', { state_enum: 'APPROVAL_STATE_PENDING' })).approvals).toEqual([]);
  });

  it('ledger entries carry decision and kind as enums; QueryDecisions filters by either form', async () => {
    const denied = await decide(modelCall(dana, 'frontier-xl'));
    expect(denied.decision).toBe('DECISION_DENY');
    const byEnum = await stream(c.audit, 'QueryDecisions', { decision_enum: 'DECISION_DENY', limit: 1000 });
    expect(byEnum.map((e) => e.decision_id)).toContain(denied.decision_id);
    expect(byEnum.every((e) => e.decision === 'deny' && e.decision_enum === 'DECISION_DENY' && e.kind_enum === 'ENTRY_KIND_DECISION')).toBe(true);
    expect(await stream(c.audit, 'QueryDecisions', { decision: 'deny', decision_enum: 'DECISION_DENY', limit: 1000 })).toEqual(byEnum);

    const policy = await stream(c.audit, 'QueryDecisions', { kind_enum: 'ENTRY_KIND_APPROVAL', limit: 1000 });
    expect(policy.length).toBeGreaterThan(0);
    // An approval entry's decision column holds the approval's event, not a Decision.
    expect(policy.every((e) => e.kind === 'approval' && e.kind_enum === 'ENTRY_KIND_APPROVAL' && e.decision_enum === 'DECISION_UNSPECIFIED')).toBe(true);

    const got = await unary(c.audit, 'GetDecision', { decision_id: denied.decision_id });
    expect(got.entry).toMatchObject({ decision: 'deny', decision_enum: 'DECISION_DENY', kind_enum: 'ENTRY_KIND_DECISION' });
  });

  it('a string and an enum that disagree are INVALID_ARGUMENT, naming both fields', async () => {
    const cases: Array<[grpc.Client, string, Record<string, unknown>, string]> = [
      [c.approval, 'ListApprovals', { state: 'pending', state_enum: 'APPROVAL_STATE_APPROVED' }, 'state "pending" and state_enum APPROVAL_STATE_APPROVED'],
      [c.usage, 'GetUsage', { scope: 'team', scope_enum: 'USAGE_SCOPE_SUBJECT', key: 'platform' }, 'scope "team" and scope_enum USAGE_SCOPE_SUBJECT'],
    ];
    for (const [client, method, request, message] of cases) {
      const err = await unaryError(client, method, request);
      expect([method, err.code, err.details]).toEqual([method, grpc.status.INVALID_ARGUMENT, expect.stringContaining(message)]);
    }
    const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
      const call = (c.audit as unknown as Record<string, Function>).QueryDecisions!.call(c.audit, {
        kind: 'policy',
        kind_enum: 'ENTRY_KIND_DECISION',
      }) as grpc.ClientReadableStream<unknown>;
      call.on('data', () => undefined);
      call.on('error', resolve);
      call.on('end', () => reject(new Error('answered')));
    });
    expect([err.code, err.details]).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringContaining('kind "policy" and kind_enum ENTRY_KIND_DECISION')]);
  });

  it('GetUsage takes the scope as an enum', async () => {
    const allowed = await decide(modelCall(dana));
    expect(allowed.decision).toBe('DECISION_ALLOW');
    const byString = await unary(c.usage, 'GetUsage', { scope: 'team', key: 'platform' });
    const byEnum = await unary(c.usage, 'GetUsage', { scope_enum: 'USAGE_SCOPE_TEAM', key: 'platform' });
    expect(JSON.parse(byEnum.usage_json.toString())).toEqual(JSON.parse(byString.usage_json.toString()));
    expect(JSON.parse(byEnum.usage_json.toString()).day.reserved_tokens).toBeGreaterThan(0);
  });

  it("Verify's state mismatches carry the problem as an enum", async () => {
    const allowed = await decide(modelCall(dana));
    // Settled, so the row is compared whatever its reservation's expiry. The server's own check of its
    // state tables (which would rebuild the edited row and record that) runs hourly here, so Verify sees the edit.
    await report(c, allowed.decision_id, dana, 'standard-m', 5, 7);
    expect(editStateTables(ledger, `UPDATE usage_charges SET tokens = tokens + 1 WHERE decision_id = '${allowed.decision_id}'`)).toBe(1);
    const verified = await unary(c.audit, 'Verify', {});
    expect(verified.ok).toBe(false);
    expect(verified.state_mismatches).toContainEqual({
      table: 'usage_charges',
      key: allowed.decision_id,
      problem: 'changed',
      problem_enum: 'MISMATCH_PROBLEM_CHANGED',
    });
  });
});
