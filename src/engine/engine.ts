import { setTimeout as delay } from 'node:timers/promises';
import { policyRef, type PolicyRef } from './policy-ref.js';
import { policyEventRecord, type PolicyEvent } from './policy-event.js';
import { closedOnFailure, failClosed, GavelError } from '../lib/errors.js';
import { withFirstKey, withLastKey } from '../lib/canonical.js';
import type { Bundle } from '../bundles/bundle.js';
import { isJsonObject, type JsonObject } from '../lib/json.js';
import { stagedTogether, UNRECORDED, type CanonicalRecord, type EntryRecord, type Ledger, type Receipt, type StagedWrite } from './ledger.js';
import type { DecisionApproval } from './approvals/approval.js';
import type { ApprovalDesk, ApprovalPlan, HeldApproval } from './approvals/desk.js';
import type { EngineConfig } from './config.js';
import type { WasmEvaluator } from './evaluator.js';
import { DecisionLocks } from './decision-locks.js';
import { KeyLocks } from './key-locks.js';
import type { DecisionMeter, MeteredContext, MeteredWrite, RequestClaim } from './meter.js';
import type { PolicySet } from './policies.js';
import type { AppliedRedaction } from './redact.js';
import { SERVICE_RULE, type Effect, type Reason } from './result.js';
import type { DecisionRunner, Job } from './runner.js';
import type { DecideInput, EvaluateRequest, Evaluated } from './stages.js';
import type { Shadow } from './shadow/shadow.js';
import type { UsageFacts } from './usage-facts.js';
import { conflict, recallOf, replayedParts, type RecordedRequest } from './idempotency.js';
import { checkOffline, offlineRecord, storedInputOf, type OfflineDecision, type OfflineReceipt, type RecordedEntries } from './offline.js';
import { newEntryId } from '../lib/entry-id.js';

export type { DecideInput } from './stages.js';

/** A caller's cancellation as the engine reads it: whether it happened. An AbortSignal is one. */
export interface Cancellation {
  readonly aborted: boolean;
}

export interface DecideRequest {
  /** Entrypoint; "" means the configured default. */
  policy: string;
  input: DecideInput;
  requestId: string;
  /** Who asked (peer or authenticated identity); recorded in the ledger. */
  caller: string;
  /** Aborted when the caller cancels: an AbortSignal, or any object whose `aborted` turns true then. */
  signal?: Cancellation;
  /** The caller's deadline (ms since the epoch), checked even when the loop was too busy to deliver the abort. */
  deadlineMs?: number;
  /** The W3C trace the call belongs to, recorded in the entry's payload so a decision can be found from a trace. */
  trace?: TraceContext;
  /**
   * The edge could not give the request as sent (a truncated or unreadable body): recorded as a
   * service DENY with this reason, without evaluating, the unscanned content left out of the entry.
   */
  refusal?: Refusal;
}

/** Why an edge could not hand a request over whole (engine/stages.ts). */
export type Refusal = EvaluateRequest['refusal'];

/** A W3C trace context (the `traceparent` the caller sent): its trace id and the caller's span id, lower-case hex. */
export interface TraceContext {
  traceId: string;
  parentSpanId: string;
}

export interface Decision {
  decisionId: string;
  decision: Effect;
  reasons: Reason[];
  /** The input with redactions applied; present when anything was redacted. */
  redactedInput?: JsonObject;
  redactions: AppliedRedaction[];
  obligations: JsonObject;
  policy: PolicyRef;
  entrypoint: string;
  receipt: Receipt;
  requestId: string;
  evaluatedAt: string;
  /** The approval request this REQUIRE_APPROVAL created (or waits on), or the approval this decision used. */
  approval?: DecisionApproval;
  /** The recorded answer to this caller's request id, given again (idempotency.ts): nothing new was recorded. */
  replayed?: boolean;
}

export interface EngineDeps {
  config: EngineConfig;
  ledger: Ledger;
  /** The live bundle set (activated through `activate`); the runtime reads it to list and deliver policies. */
  policies: PolicySet;
  /** Where decisions are parsed and evaluated: picked by the runtime (pickRunner), closed with the engine. */
  runner: DecisionRunner;
  meter?: DecisionMeter;
  now?: () => Date;
  /**
   * Human approvals: REQUIRE_APPROVAL creates a request, a retry carrying its id sees it as
   * input.context.approval. Without it (`gavel eval` without a ledger) the input's own context.approval reaches the policy.
   */
  approvals?: ApprovalDesk;
  /** Shadow evaluation of candidate bundles on live traffic, after each recorded answer. */
  shadow?: Shadow;
  /**
   * Entries already in the ledger, by decision id (an offline decision delivered twice is recorded once)
   * and by a caller's request id (a Decide retried within the idempotency window is answered once).
   */
  recorded?: RecordedEntries;
}

/** The live side of a shadowed decision. */
function live(d: Decision): PolicyRef & { decision: string; reasonCodes: string[] } {
  return { ...d.policy, decision: d.decision, reasonCodes: d.reasons.map((r) => r.code) };
}

function abandoned(request: DecideRequest): boolean {
  return request.signal?.aborted === true || (request.deadlineMs !== undefined && Date.now() >= request.deadlineMs);
}

function gone(): GavelError {
  return new GavelError('abandoned', 'the caller cancelled or its deadline passed before the decision was recorded');
}

/** Approval state that cannot be read fails closed as UNAVAILABLE rather than INTERNAL. */
function approvalState<T>(read: () => Promise<T>): Promise<T> {
  return closedOnFailure('approvals_unavailable', 'approval state could not be read; failing closed', read);
}

/** Evaluations of one decision before its usage snapshot must hold (each retry reads usage afresh). */
const MAX_ATTEMPTS = 8;
/** The wait before deciding again after a shared approval changed under an attempt, times the attempt's number. */
const APPROVAL_RETRY_MS = 5;

/** One evaluation of a decision whose entry is on its way to the ledger. */
interface Attempt {
  evaluated: Evaluated;
  receipt: Promise<Receipt>;
  /** The request it was evaluated with (a shadow bundle sees the same). */
  req: EvaluateRequest;
  /** What it does to approvals (a request created, an approval used). */
  approval: ApprovalPlan | undefined;
  /** The request id it claimed (an idempotent call). */
  claim?: RequestClaim;
}

/**
 * The decision path, free of any transport: parse and bound (where the input
 * is evaluated), lock the usage keys, read usage, evaluate, stage usage, record.
 *
 * Parsing, evaluation, redaction and canonical hashing run in the runner (a
 * worker per core when configured); this thread does only what must be
 * serial: the usage locks and reads, the staging check, and the ledger append.
 */
export class Engine {
  private readonly policies: PolicySet;
  private readonly shadow: Shadow | undefined;
  private readonly approvals: ApprovalDesk | undefined;
  private readonly config: EngineConfig;
  private readonly ledger: Ledger;
  private readonly meter: DecisionMeter | undefined;
  private readonly now: () => Date;
  private readonly runner: DecisionRunner;
  /** Usage keys, shared by every decision's DecisionLocks (decision-locks.ts has the lock order). */
  private readonly usageLocks = new KeyLocks();
  /** Request ids being decided (idempotent calls): a retry waits, then finds the first call's entry. */
  private readonly requestLocks = new KeyLocks();
  /** Offline ids being recorded: a redelivery waits, then finds the first delivery's entry. */
  private readonly offlineLocks = new KeyLocks();
  private readonly recorded: RecordedEntries | undefined;
  private faults = 0;

  constructor(deps: EngineDeps) {
    this.config = deps.config;
    this.ledger = deps.ledger;
    this.meter = deps.meter;
    this.now = deps.now ?? (() => new Date());
    this.approvals = deps.approvals;
    this.policies = deps.policies;
    this.runner = deps.runner;
    this.shadow = deps.shadow;
    this.recorded = deps.recorded;
  }

  /** Evaluations that trapped or ran out of memory (each answered DENY evaluation_error), on whichever thread ran them. */
  get evaluationFaults(): number {
    return this.faults;
  }

  activate(bundles: Bundle[]): void {
    this.policies.activate(bundles);
    this.runner.activate(this.policies.evaluators());
  }

  /** Appends a policy event (activated, deactivated, refused) to the ledger, in the chain with the decisions. */
  recordPolicyEvent(event: PolicyEvent): Promise<Receipt> {
    return this.append(policyEventRecord(event, this.now()), undefined);
  }

  /**
   * Records a decision an enforcement point made without gavel (offline.ts), once per offline id.
   * Its input is evaluated by the active policy only for what that policy redacts and hashes, so
   * the entry holds the input as a decision's would; the client's decision is what is recorded.
   */
  async recordOffline(o: OfflineDecision): Promise<OfflineReceipt> {
    const recordedAt = this.now();
    checkOffline(o, recordedAt.getTime());
    if (!this.recorded) throw new GavelError('ledger_unavailable', 'this engine cannot look up recorded entries; offline decisions are not recorded');
    const recorded = this.recorded;
    const unlock = await this.offlineLocks.acquire([o.offlineId]);
    try {
      const found = recorded.find(o.offlineId);
      if (found) {
        if (found.kind !== 'offline') throw new GavelError('invalid_offline', `offline_id ${o.offlineId} names a ${found.kind} entry`);
        return { decisionId: o.offlineId, duplicate: true, receipt: found.receipt };
      }
      const job = await this.runner.prepare({ input: o.input, requestId: o.requestId, caller: o.caller });
      try {
        const entrypoint = o.entrypoint || this.config.defaultEntrypoint;
        const evaluator = this.policies.resolve(entrypoint);
        const req: EvaluateRequest = {
          decisionId: o.offlineId,
          entrypoint,
          nowMs: o.decidedAtMs,
          context: undefined,
          ...(this.approvals ? { approval: null } : {}),
        };
        const evaluated = await this.runner.evaluate(job, evaluator, req);
        const { stored, hashedPaths } = storedInputOf(evaluated.record.payloadJcs);
        const record = offlineRecord(o, { header: job.header, stored, hashedPaths, salt: evaluated.record.salt, entrypoint, recordedAt });
        return { decisionId: o.offlineId, duplicate: false, receipt: await this.append(record, undefined) };
      } finally {
        this.runner.discard(job);
      }
    } finally {
      unlock();
    }
  }

  async decide(request: DecideRequest): Promise<Decision> {
    const idempotent = this.idempotent(request);
    // Request id, approval hold, usage keys, fingerprint: taken in that order, all let go by the one release() below.
    const locks = new DecisionLocks(this.usageLocks, this.approvals, this.requestLocks);
    try {
      if (idempotent) {
        // A retry waits here while the first is decided, then finds its entry.
        await locks.request(`${request.caller}\0${request.requestId}`);
        const found = this.recordedRequest(request, idempotent);
        if (found) return await this.replay(request, found);
      }
      try {
        return await this.decideNew(request, locks, idempotent ? this.claimOf(request) : undefined);
      } catch (err) {
        // Another replica holds the id (the shared store refused this one's claim): its recorded answer, once it has one.
        const taken = idempotent?.findSharedRequest && err instanceof GavelError && err.code === 'request_in_progress';
        const found = taken ? await this.sharedRequest(request, idempotent) : undefined;
        if (!found) throw err;
        return await this.replay(request, found);
      }
    } finally {
      locks.release();
    }
  }

  /** The idempotency lookup's port when this call is idempotent: it has a request id and the window is on. */
  private idempotent(request: DecideRequest): RecordedEntries | undefined {
    return request.requestId !== '' && this.config.idempotencyWindowSeconds > 0 ? this.recorded : undefined;
  }

  /** Where the window starts for a call decided now. */
  private windowStart(): number {
    return this.now().getTime() - this.config.idempotencyWindowSeconds * 1000;
  }

  private recordedRequest(request: DecideRequest, recorded: RecordedEntries): RecordedRequest | undefined {
    try {
      return recorded.findRequest(request.caller, request.requestId, this.windowStart());
    } catch (err) {
      throw failClosed(err, 'ledger_unavailable', 'the ledger could not be searched for this request id; failing closed');
    }
  }

  private sharedRequest(request: DecideRequest, recorded: RecordedEntries): Promise<RecordedRequest | undefined> {
    return closedOnFailure('usage_unavailable', 'the shared store could not be searched for this request id; failing closed', async () =>
      recorded.findSharedRequest?.(request.caller, request.requestId, this.windowStart()),
    );
  }

  /** The claim of an idempotent call's request id, for a store shared with other replicas (the answer is built only if one asks). */
  private claimOf(request: DecideRequest): Omit<RequestClaim, 'answer'> {
    return { caller: request.caller, requestId: request.requestId, sinceMs: this.windowStart() };
  }

  /** The recorded answer to a request decided before: nothing is evaluated, recorded, reserved or requested. */
  private async replay(request: DecideRequest, found: RecordedRequest): Promise<Decision> {
    const recalled = recallOf(found);
    const job = await this.runner.prepare({ input: request.input, requestId: request.requestId, caller: request.caller, recall: recalled });
    try {
      if (!job.recalled?.same) throw conflict(found, 'this input differs from the one recorded');
      const { approval: named, ...parts } = replayedParts(found);
      const desk = this.approvals;
      const approval = named && desk ? await approvalState(() => desk.recordedAnswer(named.id, named.state)) : undefined;
      return {
        ...parts,
        ...(job.recalled.redactedInput ? { redactedInput: job.recalled.redactedInput } : {}),
        ...(approval ? { approval } : {}),
        replayed: true,
      };
    } finally {
      this.runner.discard(job);
    }
  }

  private async decideNew(request: DecideRequest, locks: DecisionLocks, claim: Omit<RequestClaim, 'answer'> | undefined): Promise<Decision> {
    const idempotent = claim !== undefined;
    const prepare = { input: request.input, requestId: request.requestId, caller: request.caller, ...(idempotent ? { idempotent } : {}) };
    let job = await this.runner.prepare(prepare);
    let shadowed = false;
    try {
      const entrypoint = request.policy || this.config.defaultEntrypoint;
      const evaluator = this.policies.resolve(entrypoint);
      // The approval a retry carries is held until this decision's entry commits: it is used once.
      const desk = this.approvals;
      if (desk && job.binding.approvalId !== '') await locks.hold(job.binding.approvalId);
      if (this.meter) {
        const keys = this.meter.keys(job.facts);
        // Others hold or wait for these keys: this decision's evaluation will be their wait, so it runs where it waits least.
        if (this.runner.serialize && this.usageLocks.busy(keys)) job = await this.runner.serialize(job, prepare);
        await locks.usage(keys);
      }
      const now = this.now();
      // Looked up at the decision's own time: an approval due by then is expired, not used.
      const lookup = () => (desk ? approvalState(() => desk.lookup(job.binding, now)) : Promise.resolve(undefined));
      let held = await lookup();
      const decisionId = newEntryId();
      let attempt: Attempt | undefined;
      for (let n = 1; !attempt; n++) {
        // Again on a fresh read: another replica may have changed the approval of the attempt that went stale
        // (a moment later: its change may be awaiting its seal, and the row is the one it replaced until then).
        if (n > 1 && desk) {
          if (held?.approval) await delay(APPROVAL_RETRY_MS * n);
          held = await lookup();
        }
        attempt = await this.attempt(request, job, evaluator, locks, { decisionId, entrypoint, now, held, claim });
        // Usage this decision read changed while it was evaluated (a report, a release): decide again on fresh usage.
        if (!attempt && n >= MAX_ATTEMPTS) {
          throw new GavelError('usage_unavailable', `usage kept changing during ${MAX_ATTEMPTS} evaluations; failing closed`);
        }
      }
      // Staged writes are visible to every later read: the next decision on these keys may go ahead.
      locks.releaseUsage();
      // A new request keeps its fingerprint until its entry is durable and, in a shared store, sealed (or given up):
      // an identical call meanwhile finds this request. The store retries a seal that fails.
      let receipt: Receipt;
      try {
        receipt = await attempt.receipt;
        await attempt.approval?.seal?.(receipt).catch(() => undefined);
      } finally {
        locks.releaseFingerprint();
      }
      if (attempt.claim) this.meter?.requestRecorded?.(attempt.claim, decisionId, receipt);
      // Gone after its entry was written: the entry stays (the ledger never loses one). Its reservation goes,
      // unless the call is idempotent: then a retry gets this recorded answer, and the reservation with it.
      if (this.meter && !idempotent && abandoned(request)) await this.meter.release(decisionId, request.caller).catch(() => undefined);
      const decision = this.decision(attempt.evaluated, evaluator, { decisionId, entrypoint, now, receipt, requestId: request.requestId });
      if (attempt.approval) decision.approval = attempt.approval.answer;
      // Recorded and about to be answered: a shadow bundle may now see the same input (it discards the job when done).
      shadowed = this.shadow?.offer(job, attempt.req, live(decision)) ?? false;
      return decision;
    } finally {
      if (!shadowed) this.runner.discard(job);
    }
  }

  /** A shared approval change written on its own: false when another replica changed the approval first. */
  private async sharedWrite(plan: ApprovalPlan): Promise<boolean> {
    try {
      await plan.shared!.write();
      return true;
    } catch (err) {
      if (err instanceof GavelError && err.code === 'approval_changed') return false;
      // It may have landed without an answer: undone if it is there.
      plan.abandon?.();
      throw failClosed(err, 'approvals_unavailable', 'the approval could not be written to the shared store; failing closed');
    }
  }

  /** One evaluation on a fresh usage snapshot; undefined when the snapshot went stale before it could be staged. */
  private async attempt(
    request: DecideRequest,
    job: Job,
    evaluator: WasmEvaluator,
    locks: DecisionLocks,
    d: { decisionId: string; entrypoint: string; now: Date; held: HeldApproval | undefined; claim: Omit<RequestClaim, 'answer'> | undefined },
  ): Promise<Attempt | undefined> {
    // A caller known to be gone before anything is reserved gets nothing recorded or reserved.
    if (abandoned(request)) throw gone();
    const { held } = d;
    // The same call again (its request still open): the reservation its request holds is this call's, not counted twice.
    const open = held?.approval?.state === 'pending' || held?.approval?.state === 'approved';
    const replacing = open && held?.sameAction ? held.approval!.requestedBy : undefined;
    const metered = this.meter ? await this.usageContext(job.facts, evaluator.bundle, d.now, replacing) : undefined;
    // Every read is staged through or ended (a shared store's transaction holds the keys until then).
    try {
      const req: EvaluateRequest = {
        decisionId: d.decisionId,
        entrypoint: d.entrypoint,
        nowMs: d.now.getTime(),
        context: metered?.context,
        ...(this.approvals ? { approval: held?.context ?? null } : {}),
        ...(request.refusal ? { refusal: request.refusal } : {}),
      };
      const evaluated = await this.runner.evaluate(job, evaluator, req);
      if (evaluated.reasons.some((r) => r.code === 'evaluation_error' && r.rule === SERVICE_RULE)) this.faults++;
      if (abandoned(request)) throw gone();
      const { bundle } = evaluator;
      const desk = this.approvals;
      const approval = !desk
        ? undefined
        : await approvalState(() =>
            desk.plan(
              {
                decisionId: d.decisionId,
                decision: evaluated.decision,
                obligations: evaluated.obligations,
                actionParams: evaluated.actionParams,
                header: job.header,
                binding: job.binding,
                policy: policyRef(bundle),
                now: d.now,
              },
              held,
              (fingerprint) => locks.fingerprint(fingerprint),
            ),
          );
      // The decision names the approval it created, waits on or used, so its recorded answer can be given again.
      const named = approval ? withApproval(evaluated.record, approval.answer) : evaluated.record;
      const claim: RequestClaim | undefined = d.claim && { ...d.claim, answer: () => answerOf(named) };
      let staged: MeteredWrite | undefined;
      if (metered) {
        const decided = {
          decisionId: d.decisionId,
          facts: job.facts,
          outcome: evaluated,
          bundle,
          now: d.now,
          caller: request.caller,
          ...(claim ? { claim } : {}),
          ...(approval?.shared ? { approval: approval.shared } : {}),
        };
        try {
          staged = await this.meter!.stage(approval ? { ...decided, holdUntilMs: approval.holdUntilMs } : decided, metered.snapshot);
        } catch (err) {
          // Its locks, the fingerprint too, go in decide's release(); a shared approval change that may have landed is undone.
          approval?.abandon?.();
          throw failClosed(err, 'usage_unavailable', 'usage could not be reserved; failing closed');
        }
        if (!staged) {
          // Evaluated again on fresh usage: this attempt's request is not made, and the next attempt plans afresh.
          locks.releaseFingerprint();
          return undefined;
        }
      }
      // Without usage rows to commit it with, a shared approval change is written alone; changed meanwhile by another replica: decide again.
      if (!metered && approval?.shared && !(await this.sharedWrite(approval))) {
        locks.releaseFingerprint();
        return undefined;
      }
      const traced = request.trace ? withTrace(named, request.trace) : named;
      const record = staged ? withUsage(traced, staged.payload) : traced;
      const receipt = this.append(record, stagedTogether(staged, approval?.staged));
      // Awaited by decide once the locks are released; never an unhandled rejection meanwhile.
      receipt.catch(() => undefined);
      return { evaluated, receipt, req, approval, ...(claim ? { claim } : {}) };
    } finally {
      metered?.snapshot.end();
    }
  }

  private decision(
    e: Evaluated,
    evaluator: WasmEvaluator,
    d: { decisionId: string; entrypoint: string; now: Date; receipt: Receipt; requestId: string },
  ): Decision {
    const { bundle } = evaluator;
    return {
      decisionId: d.decisionId,
      decision: e.decision,
      reasons: e.reasons,
      ...(e.redactedInput ? { redactedInput: e.redactedInput } : {}),
      redactions: e.redactions,
      obligations: e.obligations,
      policy: policyRef(bundle),
      entrypoint: d.entrypoint,
      receipt: d.receipt,
      requestId: d.requestId,
      evaluatedAt: d.now.toISOString(),
    };
  }

  /** A store that cannot be read fails closed as UNAVAILABLE rather than INTERNAL. */
  private async usageContext(facts: UsageFacts, bundle: Bundle, now: Date, replacing: string | undefined): Promise<MeteredContext> {
    return closedOnFailure('usage_unavailable', 'usage state could not be read; failing closed', () => this.meter!.context(facts, bundle, now, replacing));
  }

  private async append(record: EntryRecord, staged: StagedWrite | undefined): Promise<Receipt> {
    return closedOnFailure('ledger_unavailable', UNRECORDED, () => this.ledger.append(record, staged));
  }

  /** Prepared inputs the evaluation workers still keep, per worker ([] without workers): all 0 once no decision is in flight. */
  heldByWorkers(): Promise<number[]> {
    return this.runner.held();
  }

  /** Resolves once the evaluation workers (if any) have started. */
  ready(): Promise<void> {
    return this.runner.ready();
  }

  /** Stops the evaluation workers (decisions still in flight fail closed). */
  async close(): Promise<void> {
    this.approvals?.stop();
    await this.runner.close();
  }
}

/**
 * A claimed request's answer as a shared store keeps it: what a replay reads of the entry. Its usage and
 * trace are not needed, nor its stored input unless the answer carried a redacted input (replayedParts, recallOf).
 */
function answerOf(record: CanonicalRecord): string {
  const payload = JSON.parse(record.payloadJcs) as JsonObject;
  const result = isJsonObject(payload.result) ? payload.result : {};
  if (!Array.isArray(result.redactions) || result.redactions.length === 0) delete payload.input;
  const answer: Omit<RecordedRequest, 'receipt'> = {
    decisionId: record.decisionId,
    time: record.time,
    decision: record.decision,
    bundle: record.bundle,
    revision: record.revision,
    digest: record.digest,
    entrypoint: record.entrypoint,
    requestId: record.requestId,
    payload,
    salt: Buffer.from(record.salt).toString('hex'),
  };
  return JSON.stringify(answer);
}

/** The decision's record with the approval its answer names as the payload's first key (`approval` sorts before every other). */
function withApproval(record: CanonicalRecord, approval: DecisionApproval): CanonicalRecord {
  return { ...record, payloadJcs: withFirstKey(record.payloadJcs, 'approval', { approval_id: approval.id, state: approval.state }) };
}

/** The decision's record with its trace as the payload's last key (`trace` sorts after `compared_as`, `input` and `result`; `usage`, after it, comes later). */
function withTrace(record: CanonicalRecord, trace: TraceContext): CanonicalRecord {
  return withPayloadKey(record, 'trace', { trace_id: trace.traceId, parent_span_id: trace.parentSpanId });
}

/** The decision's record with its usage as the payload's last key (`usage` sorts after `input` and `result`). */
function withUsage(record: CanonicalRecord, usage: JsonObject): CanonicalRecord {
  return withPayloadKey(record, 'usage', usage);
}

/** The record with `key` added to its payload as the last key (the caller knows it sorts after every key already there). */
function withPayloadKey(record: CanonicalRecord, key: string, value: JsonObject): CanonicalRecord {
  return { ...record, payloadJcs: withLastKey(record.payloadJcs, key, value) };
}
