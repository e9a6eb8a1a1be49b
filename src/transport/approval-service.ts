import type * as grpc from '@grpc/grpc-js';
import { APPROVAL_STATES, isTerminal, type Approval, type ApprovalState, type Verdict } from '../engine/approvals/approval.js';
import { approvalWire } from '../engine/approvals/wire.js';
import type { ApprovalsFace } from '../runtime/faces.js';
import type { ApprovalFilter } from '../engine/approvals/store.js';
import { GavelError } from '../lib/errors.js';
import type { Logger } from '../log.js';
import { MAX_APPROVAL_ID_BYTES } from '../engine/approvals/fingerprint.js';
import type { AccessPolicy } from './security/access-policy.js';
import { provenApprover } from './security/approver.js';
import { callerOf, type Caller } from './security/guard.js';
import { APPROVAL_STATE, VERDICT, enumOf, stringOf } from './enum-twins.js';
import { toServiceError } from './status.js';

interface ListMessage {
  state: string;
  state_enum?: string;
  approver_role: string;
  subject: string;
  team: string;
  limit: number;
}

interface ResolveMessage {
  approval_id: string;
  verdict: string;
  approver?: { id: string; roles: string[] } | null;
  comment: string;
}

const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 1000;

const VERDICTS: Record<string, Verdict> = { VERDICT_APPROVE: 'approve', VERDICT_REJECT: 'reject' };

/** WatchApproval streams open at once per server. */
export const MAX_WATCHES = 1024;

/**
 * Who sees what of an approval. Approvers (`approve`) and `audit-payloads`
 * see everything; `audit` sees the request without its params and comments;
 * a caller with `decide` alone sees only requests its own decisions created.
 */
function visibility(caller: Caller, a: Approval): { withheld: boolean } {
  const own = a.caller === caller.id;
  const reader = caller.roles.has('approve') || caller.roles.has('audit');
  if (!reader && !own) throw new GavelError('permission_denied', `approval ${a.id} was asked for by another identity; ${caller.id} may only read its own`);
  return { withheld: !own && !caller.roles.has('approve') && !caller.roles.has('audit-payloads') };
}

export interface ApprovalServiceHandle {
  implementation: grpc.UntypedServiceImplementation;
  /** Ends every open WatchApproval stream (at shutdown, so draining does not wait for them). */
  close(): void;
}

/** Thin adapter over the engine's approval desk: convert, call, convert, map errors. */
export function approvalService(desk: ApprovalsFace, log: Logger, access: AccessPolicy): ApprovalServiceHandle {
  const watches = new Set<() => void>();
  const unary =
    <Req>(fn: (req: Req, call: grpc.ServerUnaryCall<Req, unknown>) => Promise<unknown>) =>
    (call: grpc.ServerUnaryCall<Req, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      fn(call.request, call).then(
        (value) => callback(null, value),
        (err: unknown) => callback(toServiceError(err, log)),
      );
    };
  const implementation: grpc.UntypedServiceImplementation = {
    ListApprovals: unary(async (req: ListMessage, call) => {
      const caller = callerOf(call);
      return { approvals: (await desk.list(listFilter(req))).map((a) => wireApproval(a, visibility(caller, a))) };
    }),
    GetApproval: unary(async (req: { approval_id: string }, call) => {
      const a = await desk.get(requiredId(req.approval_id));
      return wireApproval(a, visibility(callerOf(call), a));
    }),
    Resolve: unary(async (req: ResolveMessage, call) => {
      const verdict = VERDICTS[req.verdict];
      if (!verdict) throw new GavelError('invalid_approval', 'verdict must be VERDICT_APPROVE or VERDICT_REJECT');
      const caller = callerOf(call);
      // Who approves, with which roles: proven by certificate and the access file, not asserted (security/approver.ts).
      const { approver, rolesFrom } = provenApprover({ id: req.approver?.id ?? '', roles: req.approver?.roles ?? [] }, caller, access);
      const approval = await desk.resolve({ approvalId: requiredId(req.approval_id), verdict, approver, comment: req.comment, caller: caller.id, rolesFrom });
      log.info({ approval_id: approval.id, state: approval.state, caller: callerOf(call).id }, verdict === 'approve' ? 'approval vote' : 'approval rejected');
      return wireApproval(approval, { withheld: false });
    }),
    WatchApproval: (call: grpc.ServerWritableStream<{ approval_id: string }, unknown>) => watch(desk, call, log, watches),
  };
  return {
    implementation,
    close: () => {
      for (const end of [...watches]) end();
    },
  };
}

/**
 * Sends the approval as it is, then each committed change, and ends once the
 * state is final. Changes are listened for before the first read, so none falls
 * between the two; a pending request is read again at its expiry (which expires it).
 */
function watch(desk: ApprovalsFace, call: grpc.ServerWritableStream<{ approval_id: string }, unknown>, log: Logger, watches: Set<() => void>): void {
  let last: ApprovalStateAndVotes | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stop = () => {};
  let seen: { withheld: boolean } | undefined;
  const caller = callerOf(call);
  const finish = () => {
    stop();
    clearTimeout(timer);
    watches.delete(end);
  };
  const end = () => {
    finish();
    if (!call.cancelled && !call.writableEnded) call.end();
  };
  const fail = (err: unknown) => {
    finish();
    if (!call.cancelled && !call.writableEnded) call.emit('error', toServiceError(err, log));
  };
  const send = (a: Approval) => {
    if (call.cancelled || call.writableEnded) return;
    seen ??= visibility(caller, a);
    const now = { state: a.state, votes: a.votes.length };
    if (last && last.state === now.state && last.votes === now.votes) return;
    last = now;
    call.write(wireApproval(a, seen));
    if (isTerminal(a.state)) {
      end();
      return;
    }
    clearTimeout(timer);
    // Read again at its expiry, which expires it (the sweep would too, later).
    timer = setTimeout(() => void desk.get(a.id).then(send).catch(fail), Math.max(0, a.expiresAtMs - Date.now()) + 50);
    timer.unref();
  };
  call.once('cancelled', finish);
  try {
    const id = requiredId(call.request.approval_id);
    if (watches.size >= MAX_WATCHES) throw new GavelError('too_many_watches', `${MAX_WATCHES} approvals are watched already; retry later or poll GetApproval`);
    watches.add(end);
    stop = desk.watch(id, (a) => {
      try {
        send(a);
      } catch (err) {
        fail(err);
      }
    });
    desk.get(id).then(send).catch(fail);
  } catch (err) {
    fail(err);
  }
}

interface ApprovalStateAndVotes {
  state: ApprovalState;
  votes: number;
}

function requiredId(id: string): string {
  if (!id) throw new GavelError('invalid_approval', 'approval_id is required');
  if (Buffer.byteLength(id, 'utf8') > MAX_APPROVAL_ID_BYTES)
    throw new GavelError('invalid_approval', `approval_id is longer than ${MAX_APPROVAL_ID_BYTES} bytes`);
  return id;
}

function listFilter(req: ListMessage): ApprovalFilter {
  const state = stringOf(APPROVAL_STATE, 'state', req.state, req.state_enum, 'invalid_query');
  if (state && !(APPROVAL_STATES as readonly string[]).includes(state)) {
    throw new GavelError('invalid_query', `state must be one of ${APPROVAL_STATES.join(', ')}, got "${state}"`);
  }
  if (req.limit > MAX_LIST_LIMIT) throw new GavelError('invalid_query', `limit must be at most ${MAX_LIST_LIMIT}, got ${req.limit}`);
  return {
    ...(state ? { state: state as ApprovalState } : {}),
    ...(req.approver_role ? { approverRole: req.approver_role } : {}),
    ...(req.subject ? { subject: req.subject } : {}),
    ...(req.team ? { team: req.team } : {}),
    limit: req.limit || DEFAULT_LIST_LIMIT,
  };
}

/** The Approval message (also what `gavel approvals … --json` prints); params and comments left out when withheld. */
export function wireApproval(a: Approval, v: { withheld: boolean }): Record<string, unknown> {
  const wire = approvalWire(a, v.withheld);
  return {
    ...wire,
    votes: (wire.votes as Array<{ verdict: string }>).map((vote) => ({ ...vote, verdict_enum: enumOf(VERDICT, vote.verdict) })),
    payload_withheld: v.withheld,
    state_enum: enumOf(APPROVAL_STATE, a.state),
  };
}
