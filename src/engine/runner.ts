import type { WasmEvaluator } from './evaluator.js';
import type { HeaderFacts } from './header-facts.js';
import type { InputLimits } from './input.js';
import {
  evaluateDecision,
  prepareDecision,
  shadowOutcome,
  type EvaluateRequest,
  type Evaluated,
  type Prepared,
  type PrepareRequest,
  type ShadowOutcome,
} from './stages.js';
import type { UsageFacts } from './usage-facts.js';
import type { ActionBinding } from './approvals/fingerprint.js';
import type { Recalled } from './idempotency.js';

/** A prepared decision: what the engine reads before evaluating it. The parsed input stays where it was parsed. */
export interface Job {
  readonly header: HeaderFacts;
  readonly facts: UsageFacts;
  readonly binding: ActionBinding;
  /** The verdict on a recall (a retry of a recorded request): same input or not. */
  readonly recalled?: Recalled;
}

/**
 * Where decisions are parsed and evaluated: the engine's own thread
 * (InlineRunner), a pool of worker threads (pool/worker-pool.ts), or the pool
 * with lone small decisions on the engine's thread (adaptive-runner.ts). The engine
 * drives both the same way: prepare, evaluate (again, if its usage snapshot
 * went stale), then discard.
 */
export interface DecisionRunner {
  /** Stage 1 (prepareDecision) where the decision will be evaluated. */
  prepare(req: PrepareRequest): Promise<Job>;
  /** Stage 2 (evaluateDecision) of a prepared job, with the evaluator the engine resolved; may run more than once. */
  evaluate(job: Job, evaluator: WasmEvaluator, req: EvaluateRequest): Promise<Evaluated>;
  /**
   * Evaluates a decided job with a shadow bundle, on the live request, behind
   * live work: the job gives up its place among the live ones first, and its
   * worker takes it only when idle. The caller discards the job afterwards.
   */
  shadow(job: Job, evaluator: WasmEvaluator, req: EvaluateRequest): Promise<ShadowOutcome>;
  /**
   * The job is about to wait for usage keys that other decisions hold or wait for, and its own
   * evaluation will hold them in turn: prepared again on the engine's own thread when the rules for
   * evaluating there allow it, so that evaluation adds no hand-off to a worker and back to the time
   * the next decision on those keys waits. Returns the job to go on with: the one given when it stays
   * (it is then still the caller's to discard), or one prepared here (the one given is discarded).
   */
  serialize?(job: Job, req: PrepareRequest): Promise<Job>;
  /** Frees a job once the engine is done with it (a no-op the second time). */
  discard(job: Job): void;
  /** A new set of evaluators is active: from now on `evaluate` may name any of them. */
  activate(evaluators: readonly WasmEvaluator[]): void;
  /** A new set of shadow evaluators: from now on `shadow` may name any of them. */
  activateShadow(evaluators: readonly WasmEvaluator[]): void;
  /** Resolves once the runner can evaluate without start-up delay (workers started). */
  ready(): Promise<void>;
  /** Worker threads evaluating (0: the calling thread). */
  readonly size: number;
  /** Workers replaced since start (crashed, or stopped for the evaluation timeout). */
  readonly restarts: number;
  /** Parsed inputs each worker still keeps ([] without workers): all 0 once no decision is in flight. */
  held(): Promise<number[]>;
  close(): Promise<void>;
}

interface InlineJob extends Job {
  prepared: Prepared | undefined;
}

/** Evaluates on the calling thread: `gavel eval`, tests, and servers configured with no workers. */
export class InlineRunner implements DecisionRunner {
  private readonly limits: InputLimits;

  constructor(limits: InputLimits) {
    this.limits = limits;
  }

  async prepare(req: PrepareRequest): Promise<Job> {
    const prepared = prepareDecision(req, this.limits);
    const job: InlineJob = {
      header: prepared.header,
      facts: prepared.facts,
      binding: prepared.binding,
      prepared,
      ...(prepared.recalled ? { recalled: prepared.recalled } : {}),
    };
    return job;
  }

  async evaluate(job: Job, evaluator: WasmEvaluator, req: EvaluateRequest): Promise<Evaluated> {
    const prepared = (job as InlineJob).prepared;
    if (!prepared) throw new Error('this job was discarded');
    return evaluateDecision(evaluator, prepared, req);
  }

  private shadows: Promise<unknown> = Promise.resolve();

  /**
   * On this thread, one per event-loop turn, each after the I/O waiting at its
   * turn (the live answers among it): a burst of shadow evaluations never runs
   * back to back in front of live work.
   */
  shadow(job: Job, evaluator: WasmEvaluator, req: EvaluateRequest): Promise<ShadowOutcome> {
    const next = this.shadows.then(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      const prepared = (job as InlineJob).prepared;
      if (!prepared) throw new Error('this job was discarded');
      return shadowOutcome(evaluator, prepared, req);
    });
    this.shadows = next.catch(() => undefined);
    return next;
  }

  discard(job: Job): void {
    (job as InlineJob).prepared = undefined;
  }

  activate(): void {}

  activateShadow(): void {}

  async ready(): Promise<void> {}

  readonly size = 0;
  readonly restarts = 0;

  async held(): Promise<number[]> {
    return [];
  }

  async close(): Promise<void> {}
}
