import type { Bundle } from '../../bundles/bundle.js';
import { policyRef, type PolicyRef } from '../policy-ref.js';
import { positiveInt } from '../../lib/config.js';
import { isGavelError } from '../../lib/errors.js';
import type { WasmEvaluator } from '../evaluator.js';
import type { EvaluatorLimits } from '../evaluator.js';
import { PolicySet } from '../policies.js';
import type { DecisionRunner, Job } from '../runner.js';
import type { EvaluateRequest, ShadowOutcome } from '../stages.js';

/** One side of a shadowed decision: which bundle answered what. */
export interface ShadowSide extends PolicyRef {
  decision: string;
  reasonCodes: string[];
}

/** A live decision and the shadow bundle's answer to the same input and context. */
export interface ShadowRecord {
  decisionId: string;
  /** The decision's time (RFC 3339). */
  time: string;
  entrypoint: string;
  live: ShadowSide;
  shadow: ShadowSide;
}

/** Where shadow results go (the ledger file's shadow table: diagnostic, outside the hash chain). */
export interface ShadowSink {
  record(r: ShadowRecord): void;
}

export interface ShadowConfig {
  /** Shadow evaluations waiting or running at once; past this, new ones are dropped (and counted), never the live answer. */
  queue: number;
}

export const SHADOW_DEFAULTS: ShadowConfig = { queue: 64 };

export function shadowConfig(overrides: Partial<ShadowConfig> = {}): ShadowConfig {
  const c = { ...SHADOW_DEFAULTS, ...overrides };
  positiveInt('shadow.queue', c.queue);
  return c;
}

/**
 * Candidate bundles evaluated on live traffic after the live answer is sent.
 * The engine offers each decided job; a job is taken only when a shadow
 * bundle has its entrypoint and the queue has room, and is evaluated behind
 * live work on the worker that holds its input. A shadow answer decides
 * nothing: it is counted and handed to the sink.
 */
export class Shadow {
  readonly policies: PolicySet;
  private readonly runner: DecisionRunner;
  private readonly sink: ShadowSink;
  private readonly config: ShadowConfig;
  private inFlight = 0;
  private drops = 0;
  private failures = 0;
  private readonly counts = new Map<string, { live: string; shadow: string; count: number }>();
  /** Shadow bundles switched off: one of their evaluations stopped its worker (ran past the evaluation timeout, or crashed it). */
  private readonly off = new Set<WasmEvaluator>();
  private readonly onDisabled: ((bundle: Bundle, reason: string) => void) | undefined;

  constructor(runner: DecisionRunner, sink: ShadowSink, config: ShadowConfig, limits: EvaluatorLimits, onDisabled?: (bundle: Bundle, reason: string) => void) {
    this.runner = runner;
    this.sink = sink;
    this.config = config;
    this.policies = new PolicySet(limits);
    this.onDisabled = onDisabled;
  }

  /** Replaces the shadow set whole (an empty list turns shadowing off); bundles switched off get another chance. */
  activate(bundles: Bundle[]): void {
    this.policies.activate(bundles);
    this.off.clear();
    this.runner.activateShadow(this.policies.evaluators());
  }

  /** The shadow set now (whoever activated it). */
  get bundles(): readonly Bundle[] {
    return this.policies.bundles;
  }

  /** Shadow bundles switched off since their set was activated. */
  get disabled(): number {
    return this.off.size;
  }

  /**
   * Offers a decided job. True when the shadow took it: it evaluates and then
   * discards the job itself. False (the caller discards it) when no shadow
   * bundle has the entrypoint, or the queue is full (counted as a drop).
   */
  offer(job: Job, req: EvaluateRequest, live: ShadowSide): boolean {
    const evaluator = this.policies.find(req.entrypoint);
    if (!evaluator || this.off.has(evaluator)) return false;
    if (this.inFlight >= this.config.queue) {
      this.drops++;
      return false;
    }
    this.inFlight++;
    const { bundle } = evaluator;
    let evaluation: Promise<ShadowOutcome>;
    try {
      evaluation = this.runner.shadow(job, evaluator, req);
    } catch (err) {
      evaluation = Promise.reject(err);
    }
    evaluation
      .then((outcome) => {
        const shadow: ShadowSide = { ...policyRef(bundle), ...outcome };
        this.count(live.decision, shadow.decision);
        this.sink.record({ decisionId: req.decisionId, time: new Date(req.nowMs).toISOString(), entrypoint: req.entrypoint, live, shadow });
      })
      .catch((err: unknown) => {
        this.failures++;
        // Its worker was stopped with it (a timeout, a crash): live decisions on that worker were refused; never again.
        if (isGavelError(err) && err.code === 'evaluation_unavailable' && !this.off.has(evaluator) && this.policies.find(req.entrypoint) === evaluator) {
          this.off.add(evaluator);
          this.onDisabled?.(bundle, err.message);
        }
      })
      .finally(() => {
        this.inFlight--;
        this.runner.discard(job);
      });
    return true;
  }

  /** Shadow evaluations done since start, by live and shadow decision. */
  transitions(): Array<{ live: string; shadow: string; count: number }> {
    return [...this.counts.values()].map((c) => ({ ...c }));
  }

  /** Shadow evaluations dropped because the queue was full. */
  get dropped(): number {
    return this.drops;
  }

  /** Shadow evaluations that could not finish (their worker stopped, the engine closed). */
  get failed(): number {
    return this.failures;
  }

  /** Waiting or running now. */
  get queued(): number {
    return this.inFlight;
  }

  private count(live: string, shadow: string): void {
    const key = `${live}\u0000${shadow}`;
    const c = this.counts.get(key) ?? { live, shadow, count: 0 };
    c.count++;
    this.counts.set(key, c);
  }
}
