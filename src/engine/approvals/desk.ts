import { EventEmitter } from 'node:events';
import type { PolicyRef } from '../policy-ref.js';
import { randomUUID } from 'node:crypto';
import { closedOnFailure, GavelError } from '../../lib/errors.js';
import { identityProblem } from '../../lib/identity-form.js';
import { isJsonObject, type JsonObject } from '../../lib/json.js';
import type { HeaderFacts } from '../header-facts.js';
import { KeyLocks } from '../key-locks.js';
import { stagedTogether, UNRECORDED, type Ledger, type Receipt, type StagedWrite } from '../ledger.js';
import type { Effect } from '../result.js';
import {
  approvalsGiven,
  contextOf,
  decisionApproval,
  isDue,
  type Approval,
  type ApprovalContext,
  type Approver,
  type DecisionApproval,
  type RolesFrom,
  type Verdict,
  type Vote,
} from './approval.js';
import { MAX_MIN_APPROVALS, parseExpiresIn, type ApprovalsConfig } from './config.js';
import { ineligibility } from './eligibility.js';
import { MAX_APPROVAL_ID_BYTES, type ActionBinding } from './fingerprint.js';
import { approvalEventRecord, type ApprovalEvent, type ApprovalEventParts } from './records.js';
import type { ApprovalFilter, ApprovalStore, ApprovalWrite, SharedApprovalWrite } from './store.js';
import { newEntryId } from '../../lib/entry-id.js';

export interface ApprovalDeskDeps {
  store: ApprovalStore;
  ledger: Ledger;
  config: ApprovalsConfig;
  now: () => Date;
  /**
   * Drops a decision's unsettled usage reservation in the transaction of the entry that ends its
   * request (rejected, expired, used): the call that waited will not run as that decision.
   */
  stagedRelease?: (decisionId: string) => StagedWrite;
  /** A failure of the periodic sweep or of a watcher (logged; the next sweep retries). */
  onError?: (err: unknown, what: string) => void;
}

/**
 * The approval a Decide is about: the one it carried (input.context.approval_id,
 * looked up by gavel and shown to the policy as `context`), or, when it carried
 * none, the open request this exact action already has (not shown to the policy:
 * only a carried approval can be used).
 */
export interface HeldApproval {
  approval: Approval | undefined;
  /** What the policy sees as input.context.approval; undefined when none was carried. */
  context: ApprovalContext | undefined;
  /** True when `approval` is for exactly this action (a carried one that matches, or an open request found by fingerprint). */
  sameAction: boolean;
}

/** What a decision does to approvals: its writes (in the decision's transaction) and what its answer says. */
export interface ApprovalPlan {
  staged?: StagedWrite;
  /**
   * With a store shared by replicas: the change, to be committed in the transaction that stages the
   * decision's usage (or alone before its entry when it has none), and its seal once the entry commits.
   */
  shared?: SharedApprovalWrite;
  seal?: (receipt: Receipt) => Promise<void>;
  /** The decision failed after (or while) the shared change was written, with no entry to record it: the change is undone. */
  abandon?: () => void;
  answer: DecisionApproval;
  /** Until when the call's usage reservation is held (a new request); null: the call reserves nothing (it waits on a request already held). */
  holdUntilMs: number | null;
}

/**
 * Takes an action's fingerprint for `plan` (the decision's DecisionLocks) and returns its release:
 * a new request keeps it until the decision's entry commits (or is given up), so an identical call
 * at the same moment finds this request instead of making a second; the decision lets go then.
 */
export type FingerprintLock = (fingerprint: string) => Promise<() => void>;

export interface DecidedAction {
  decisionId: string;
  decision: Effect;
  obligations: JsonObject;
  /** action.params as stored (redacted), for a request. */
  actionParams: JsonObject | undefined;
  header: HeaderFacts;
  binding: ActionBinding;
  policy: PolicyRef;
  now: Date;
}

export interface ResolveRequest {
  approvalId: string;
  verdict: Verdict;
  approver: Approver;
  comment: string;
  /** The identity of the approval front end (the gRPC caller). */
  caller: string;
  /** Where the approver's roles came from (recorded with the vote); absent: asserted. */
  rolesFrom?: RolesFrom;
}

const MAX_COMMENT_CHARS = 4096;
const MAX_NAME_BYTES = 256;
const MAX_ROLES = 64;
/** Expired per sweep at most (the next sweep takes the rest). */
const SWEEP_BATCH = 500;

/**
 * Human approvals of REQUIRE_APPROVAL decisions (README "Approvals"). A
 * request is created by the decision that answered REQUIRE_APPROVAL, in that
 * decision's transaction; approvers resolve it; a retried Decide carrying its
 * id sees it as input.context.approval and, when allowed, consumes it in its
 * own transaction. Every change of state is an `approval` entry in the chain,
 * and happens under the approval's lock, so a single-use approval is used once.
 */
export class ApprovalDesk {
  private readonly store: ApprovalStore;
  private readonly ledger: Ledger;
  private readonly config: ApprovalsConfig;
  private readonly now: () => Date;
  private readonly stagedRelease: ((decisionId: string) => StagedWrite) | undefined;
  private readonly onError: (err: unknown, what: string) => void;
  private readonly locks = new KeyLocks();
  private readonly changes = new EventEmitter();
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;
  private readonly committed = new Map<ApprovalEvent, number>();
  private unsubscribe: (() => void) | undefined;
  /** The last change each watched approval's watchers heard of (state and votes). */
  private readonly heard = new Map<string, string>();

  constructor(deps: ApprovalDeskDeps) {
    this.store = deps.store;
    this.ledger = deps.ledger;
    this.config = deps.config;
    this.now = deps.now;
    this.stagedRelease = deps.stagedRelease;
    this.onError = deps.onError ?? (() => {});
    this.changes.setMaxListeners(0);
    // Changes other replicas made to the shared store reach this replica's watchers too.
    this.unsubscribe = this.store.changes?.(
      (a) => this.emit(a),
      () => this.changes.eventNames().map(String),
    );
  }

  /** Exclusive use of one approval: a decision holds it from lookup to the commit of its entry. */
  hold(approvalId: string): Promise<() => void> {
    // Prefixed apart from the fingerprints in the same KeyLocks: an approval id is the caller's text, and
    // `fingerprint\0<its own action>` would otherwise make its decision wait for itself (engine/decision-locks.ts).
    return this.locks.acquire([`approval\u0000${approvalId}`]);
  }

  /** One action's fingerprint: a new request keeps it until its entry commits (engine/decision-locks.ts, step 3). */
  holdFingerprint(fingerprint: string): Promise<() => void> {
    return this.locks.acquire([`fingerprint\u0000${fingerprint}`]);
  }

  /**
   * The approval a decision carries, as the policy will see it (expired first if it is due; call
   * while holding it), or else the open request for exactly this action, if any.
   */
  async lookup(binding: ActionBinding, now: Date): Promise<HeldApproval | undefined> {
    if (binding.approvalId === '') {
      const open = await this.store.openFor(binding.fingerprint, now.getTime());
      return open ? { approval: open, context: undefined, sameAction: true } : undefined;
    }
    let approval = await this.store.get(binding.approvalId);
    if (approval && isDue(approval, now.getTime())) approval = await this.expireHeld(approval, now);
    const context = contextOf(approval, binding.approvalId, binding.fingerprint);
    return { approval, context, sameAction: context.matches };
  }

  /**
   * After evaluation: a REQUIRE_APPROVAL creates a request, or points at the
   * open one (pending, or approved and not yet used) this exact action already
   * has, so a retry neither asks the approvers twice nor holds budget twice;
   * an allowed decision that carried an approved, matching approval consumes it.
   * Undefined otherwise.
   */
  async plan(d: DecidedAction, held: HeldApproval | undefined, lock: FingerprintLock): Promise<ApprovalPlan | undefined> {
    if (d.decision === 'require_approval') {
      // This exact action's open request, whether the call carried its id (pending: still waiting) or not;
      // looked up under the fingerprint's lock, which a new request keeps until its entry commits.
      const unlock = await lock(d.binding.fingerprint);
      try {
        const open = await this.store.openFor(d.binding.fingerprint, d.now.getTime());
        if (open) {
          unlock();
          return { answer: decisionApproval(open), holdUntilMs: null };
        }
        const request = this.request(d);
        const change = this.stagedChange(request, undefined, {
          event: 'requested',
          approval: request,
          decisionId: d.decisionId,
          caller: d.header.caller,
          now: d.now,
          ...(this.store.shared ? { shared: true } : {}),
        });
        return { ...this.planOf(change), answer: decisionApproval(request), holdUntilMs: request.expiresAtMs };
      } catch (err) {
        unlock();
        throw err;
      }
    }
    // Only a carried approval is used: the caller presents its id.
    const carried = held?.context ? held.approval : undefined;
    const matches = held?.context?.matches === true;
    if ((d.decision === 'allow' || d.decision === 'redact') && carried && matches && carried.state === 'approved') {
      const used: Approval = { ...carried, state: 'consumed', consumedBy: d.decisionId };
      const change = this.stagedChange(
        used,
        carried,
        { event: 'consumed', approval: used, decisionId: d.decisionId, caller: d.header.caller, now: d.now },
        carried.requestedBy,
      );
      return { ...this.planOf(change), answer: decisionApproval(used), holdUntilMs: null };
    }
    return undefined;
  }

  /** Approves or rejects a pending request on behalf of a person; returns the approval after the vote. */
  async resolve(r: ResolveRequest): Promise<Approval> {
    checkResolve(r);
    const unlock = await this.hold(r.approvalId);
    try {
      const now = this.now();
      let a = await this.store.get(r.approvalId);
      if (!a) throw notFound(r.approvalId);
      if (isDue(a, now.getTime())) a = await this.expireHeld(a, now);
      if (a.state !== 'pending') throw new GavelError('approval_not_pending', `approval ${a.id} is ${a.state}; only a pending request can be resolved`);
      const why = ineligibility(a, r.approver);
      if (why) throw new GavelError('approver_not_allowed', why);
      const vote: Vote = {
        approver: { id: r.approver.id, roles: [...r.approver.roles] },
        verdict: r.verdict,
        comment: r.comment,
        atMs: now.getTime(),
        caller: r.caller,
      };
      const next: Approval = { ...a, votes: [...a.votes, vote] };
      if (r.verdict === 'reject') Object.assign(next, { state: 'rejected', resolvedAtMs: vote.atMs });
      else if (approvalsGiven(next) >= next.minApprovals) Object.assign(next, { state: 'approved', resolvedAtMs: vote.atMs });
      const event: ApprovalEvent = r.verdict === 'approve' ? 'approved' : 'rejected';
      const releasing = next.state === 'rejected' ? a.requestedBy : undefined;
      await this.commit(this.stagedChange(next, a, { event, approval: next, vote, caller: r.caller, now, rolesFrom: r.rolesFrom ?? 'asserted' }, releasing));
      return next;
    } finally {
      unlock();
    }
  }

  /**
   * The approval part of a recorded answer given again (engine/idempotency.ts): the request as the
   * store holds it, with the state the answer had then. Undefined when the store no longer has it.
   */
  async recordedAnswer(approvalId: string, state: Approval['state']): Promise<DecisionApproval | undefined> {
    const a = await this.store.get(approvalId);
    return a ? { ...decisionApproval(a), state } : undefined;
  }

  /** One approval, expired first if it is due. */
  async get(approvalId: string): Promise<Approval> {
    const a = await this.store.get(approvalId);
    if (!a) throw notFound(approvalId);
    if (!isDue(a, this.now().getTime())) return a;
    const unlock = await this.hold(approvalId);
    try {
      const now = this.now();
      const fresh = await this.store.get(approvalId);
      return fresh && isDue(fresh, now.getTime()) ? await this.expireHeld(fresh, now) : (fresh ?? a);
    } finally {
      unlock();
    }
  }

  /** Newest first; requests past their expiry are expired before they are listed. */
  async list(filter: ApprovalFilter): Promise<Approval[]> {
    while ((await this.sweep()) >= SWEEP_BATCH) {}
    return this.store.list(filter);
  }

  /** Approval events committed since start, by event (requested, approved, rejected, expired, consumed). */
  events(): ReadonlyMap<ApprovalEvent, number> {
    return this.committed;
  }

  /** Requests open now (pending, or approved and unused, not yet due). */
  open(): Promise<number> {
    return this.store.openCount(this.now().getTime());
  }

  /** Calls `listener` with the approval after each committed change of it; returns the unsubscribe function. */
  watch(approvalId: string, listener: (a: Approval) => void): () => void {
    this.changes.on(approvalId, listener);
    return () => {
      this.changes.off(approvalId, listener);
      if (this.changes.listenerCount(approvalId) === 0) this.heard.delete(approvalId);
    };
  }

  /** Expires every pending or approved request past its expiry (up to SWEEP_BATCH); returns how many. One sweep runs at a time. */
  sweep(): Promise<number> {
    // With a shared store, one replica at a time sweeps (the others' requests too).
    const alone = this.store.alone?.bind(this.store);
    this.sweeping ??= (alone ? alone(() => this.sweepOnce()) : this.sweepOnce()).finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async sweepOnce(): Promise<number> {
    let expired = 0;
    for (const due of await this.store.due(this.now().getTime(), SWEEP_BATCH)) {
      const unlock = await this.hold(due.id);
      try {
        const now = this.now();
        const fresh = await this.store.get(due.id);
        if (fresh && isDue(fresh, now.getTime()) && (await this.expireHeld(fresh, now)).state === 'expired') expired++;
      } finally {
        unlock();
      }
    }
    return expired;
  }

  /** Sweeps every `config.sweepSeconds` until stop(). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.sweep().catch((err: unknown) => this.onError(err, 'approval sweep'));
    }, this.config.sweepSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private request(d: DecidedAction): Approval {
    const asked = isJsonObject(d.obligations.approval) ? d.obligations.approval : {};
    const named = Array.isArray(asked.approvers) ? asked.approvers.filter((a): a is string => typeof a === 'string' && a !== '') : [];
    const min = asked.min_approvals;
    const minApprovals = Number.isInteger(min) && (min as number) >= 1 ? Math.min(min as number, MAX_MIN_APPROVALS) : this.config.defaultMinApprovals;
    const seconds = Math.min(parseExpiresIn(asked.expires_in) ?? this.config.defaultExpiresSeconds, this.config.maxExpiresSeconds);
    const atMs = d.now.getTime();
    return {
      id: randomUUID(),
      state: 'pending',
      fingerprint: d.binding.fingerprint,
      subjectId: d.header.subjectId,
      subjectType: d.header.subjectType,
      onBehalfOf: d.binding.onBehalfOf,
      team: d.header.team,
      costCenter: d.header.costCenter,
      actionType: d.header.actionType,
      resource: d.header.resource,
      params: d.actionParams ?? {},
      approvers: named.length > 0 ? [...new Set(named)].sort() : [...this.config.defaultApprovers],
      minApprovals,
      createdAtMs: atMs,
      expiresAtMs: atMs + seconds * 1000,
      requestedBy: d.decisionId,
      caller: d.header.caller,
      policy: d.policy,
      votes: [],
    };
  }

  /**
   * Expires an approval this caller holds the lock of; returns it expired, or as it is now when
   * another replica changed it first (a shared store: it expired it, or a vote came first).
   */
  private async expireHeld(a: Approval, now: Date): Promise<Approval> {
    const next: Approval = { ...a, state: 'expired', resolvedAtMs: now.getTime() };
    try {
      await this.commit(this.stagedChange(next, a, { event: 'expired', approval: next, caller: 'gavel', now }, a.requestedBy));
      return next;
    } catch (err) {
      if (!(err instanceof GavelError && err.code === 'approval_changed')) throw err;
      return (await this.store.get(a.id)) ?? a;
    }
  }

  /**
   * The write of an approval's new state and its ledger entry: the embedded store writes the row in
   * the entry's transaction, with the release of the reservation its request held when it ends
   * (`releasing`, the requesting decision); a shared store writes it before the entry (`write.shared`)
   * and seals it after. Watchers hear of a change once it is final for every replica.
   */
  private stagedChange(next: Approval, previous: Approval | undefined, event: ApprovalEventParts, releasing?: string): StagedChange {
    const release = releasing !== undefined ? this.stagedRelease?.(releasing) : undefined;
    const entryId = newEntryId();
    const write = this.store.stage({ next, previous, entryId });
    const record = approvalEventRecord({ ...event, entryId, ...(write.version !== undefined ? { version: write.version } : {}) });
    const change: StagedWrite = {
      writes: write.writes,
      finish: (committed) => {
        if (!committed) {
          // Given up: a shared store's change is undone (its row stays unsealed, honoured by no replica, until it is).
          if (write.shared) write.settle(undefined).catch((err: unknown) => this.onError(err, 'undoing an approval change'));
          return;
        }
        this.committed.set(event.event, (this.committed.get(event.event) ?? 0) + 1);
        if (!write.shared) this.emit(next);
      },
      records: [record],
    };
    // The release first: it finishes before watchers hear of the change.
    return { staged: stagedTogether(release, change)!, write, next };
  }

  /** Tells the approval's watchers of its new state; runs inside the ledger's commit loop, so a watcher that throws touches nothing else. */
  private emit(a: Approval): void {
    // The same change may come twice with a shared store (sealed here, then read again while polling): heard once.
    const heard = `${a.state}/${a.votes.length}`;
    if (this.heard.get(a.id) === heard) return;
    if (this.changes.listenerCount(a.id) > 0) this.heard.set(a.id, heard);
    for (const listener of this.changes.listeners(a.id) as Array<(a: Approval) => void>) {
      try {
        listener(a);
      } catch (err) {
        this.onError(err, 'an approval watcher');
      }
    }
  }

  /** Appends an approval event on its own (a vote, an expiry): a shared store's write first, its seal after. */
  private async commit(change: StagedChange): Promise<Receipt> {
    const { staged, write } = change;
    const [record, ...rest] = staged.records ?? [];
    if (!record) throw new Error('an approval change without its entry');
    if (write.shared) await this.sharedWrite(change);
    const receipt = await closedOnFailure('ledger_unavailable', UNRECORDED, () =>
      this.ledger.append(record, { writes: staged.writes, finish: staged.finish, ...(rest.length > 0 ? { records: rest } : {}) }),
    );
    if (write.shared) await this.sealed(change, receipt);
    return receipt;
  }

  /** What a decision's plan carries of a change: its staged write, and with a shared store its write, seal and abandonment. */
  private planOf(change: StagedChange): Pick<ApprovalPlan, 'staged' | 'shared' | 'seal' | 'abandon'> {
    const { shared } = change.write;
    return {
      staged: change.staged,
      ...(shared ? { shared, seal: (receipt: Receipt) => this.sealed(change, receipt), abandon: () => this.abandoned(change) } : {}),
    };
  }

  /** A shared change written on its own (a vote, an expiry); one that may have landed without an answer is undone. */
  private async sharedWrite(change: StagedChange): Promise<void> {
    try {
      await change.write.shared!.write();
    } catch (err) {
      if (!(err instanceof GavelError && err.code === 'approval_changed')) this.abandoned(change);
      throw err;
    }
  }

  /**
   * A shared change whose write failed without saying whether it landed, or whose decision failed after it:
   * undone when it is there unsealed (retried until it goes), a no-op otherwise.
   */
  private abandoned(change: StagedChange): void {
    change.write.settle(undefined).catch((err: unknown) => this.onError(err, 'undoing an approval change'));
  }

  /** A shared change sealed with its entry's receipt: from now every replica honours it, and watchers hear of it. */
  private async sealed(change: StagedChange, receipt: Receipt): Promise<void> {
    await closedOnFailure('approvals_unavailable', 'the approval change is recorded but could not be sealed in the shared store; it is retried', () =>
      change.write.settle(receipt),
    );
    this.emit(change.next);
  }
}

/** A change as the desk stages it: the entry's write and the store's. */
interface StagedChange {
  staged: StagedWrite;
  write: ApprovalWrite;
  next: Approval;
}

function notFound(id: string): GavelError {
  return new GavelError('approval_not_found', `no approval has id ${JSON.stringify(id)}`);
}

function checkResolve(r: ResolveRequest): void {
  const bad = (message: string) => new GavelError('invalid_approval', message);
  if (r.approvalId === '') throw bad('approval_id is required');
  if (Buffer.byteLength(r.approvalId, 'utf8') > MAX_APPROVAL_ID_BYTES) throw bad(`approval_id is longer than ${MAX_APPROVAL_ID_BYTES} bytes`);
  if (r.verdict !== 'approve' && r.verdict !== 'reject') throw bad('verdict must be APPROVE or REJECT');
  if (r.approver.id === '') throw bad('approver.id is required: the person who approves or rejects');
  if (Buffer.byteLength(r.approver.id, 'utf8') > MAX_NAME_BYTES) throw bad(`approver.id is longer than ${MAX_NAME_BYTES} bytes`);
  // Ids are compared as people read them (lib/identity-form.ts): one person must not pass as two
  // by a stray space or an invisible character (`mia` + U+200D), which no comparison form removes.
  if (r.approver.id !== r.approver.id.trim()) throw bad('approver.id must not have surrounding spaces');
  const problem = identityProblem(r.approver.id);
  if (problem) throw bad(`approver.id ${problem}`);
  if (r.approver.roles.length > MAX_ROLES) throw bad(`approver.roles has more than ${MAX_ROLES} roles`);
  if (r.approver.roles.some((role) => role === '' || Buffer.byteLength(role, 'utf8') > MAX_NAME_BYTES)) throw bad('approver.roles must be non-empty names');
  if (r.comment.length > MAX_COMMENT_CHARS) throw bad(`comment is longer than ${MAX_COMMENT_CHARS} characters`);
}
