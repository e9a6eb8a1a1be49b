import type { WasmEvaluator } from './evaluator.js';
import type { DecisionRunner, InlineRunner, Job } from './runner.js';
import type { EvaluateRequest, Evaluated, PrepareRequest, ShadowOutcome } from './stages.js';
import type { WorkerPool } from './pool/worker-pool.js';

/** Evaluations that must each have been fast, since the last activation or slow one, before any runs inline. */
export const INLINE_WINDOW = 64;

export interface AdaptiveOptions {
  /** Largest input (bytes of input_json) evaluated inline; 0: none. */
  inlineMaxBytes: number;
  /** An evaluation slower than this turns inline evaluation off until INLINE_WINDOW fast ones follow. */
  inlineSlowMs: number;
}

/**
 * Workers for throughput, the engine's own thread for a decision that arrives
 * alone. Handing a decision to a worker and back twice (prepare, evaluate)
 * costs a lone decision 0.4–0.6 ms on a 2-core VM, a quarter of its time, and
 * CPU besides (bench/README "A lone decision on the I/O thread"): waking an
 * idle thread is slow. So a
 * small decision that finds the pool idle, and no other decision evaluating
 * here, is parsed and evaluated on this thread; every other one goes to the
 * pool as before, so under load evaluation still uses every core and this
 * thread keeps only the serial work.
 *
 * What the worker pool guarantees and this thread cannot, the rules keep
 * close: an evaluation here cannot be stopped by the evaluation timeout, so
 * only inputs of at most inlineMaxBytes run here, only while the last
 * INLINE_WINDOW evaluations (on workers or here) each took at most
 * inlineSlowMs, never before that many after a bundle activation, and never
 * while shadow bundles are active (their evaluations belong on idle workers).
 */
export class AdaptiveRunner implements DecisionRunner {
  private readonly pool: WorkerPool;
  private readonly inline: InlineRunner;
  private readonly options: AdaptiveOptions;
  /** Jobs prepared here, and those of them not yet discarded. */
  private readonly here = new WeakSet<Job>();
  private readonly live = new WeakSet<Job>();
  private open = 0;
  /** Fast evaluations in a row since the last activation or slow evaluation. */
  private fast = 0;
  private shadowActive = false;
  /** Decisions evaluated on this thread since start, lone or serialized (for metrics and tests). */
  inlined = 0;

  constructor(pool: WorkerPool, inline: InlineRunner, options: AdaptiveOptions) {
    this.pool = pool;
    this.inline = inline;
    this.options = options;
  }

  /** Told how long an evaluation took, wherever it ran. */
  observe(ms: number): void {
    this.fast = ms > this.options.inlineSlowMs ? 0 : this.fast + 1;
  }

  /** Whether this input may be evaluated on this thread at all (it cannot be stopped here by the evaluation timeout). */
  private allowed(req: PrepareRequest): boolean {
    return 'json' in req.input && req.input.json.byteLength <= this.options.inlineMaxBytes && this.fast >= INLINE_WINDOW && !this.shadowActive;
  }

  /** Whether a decision arriving now with this input runs on this thread. */
  private alone(req: PrepareRequest): boolean {
    return this.allowed(req) && this.open === 0 && this.pool.idle;
  }

  async prepare(req: PrepareRequest): Promise<Job> {
    return this.alone(req) ? this.prepareHere(req) : this.pool.prepare(req);
  }

  /**
   * A decision that will hold usage keys others wait for is evaluated here (when allowed): on a
   * worker its evaluation would add a hand-off there and back, on a thread that may be busy, to
   * every waiter's time. Decisions that share a team or cost center then follow each other at the
   * pace of one evaluation, not one round trip (bench/README "Decisions that share a budget").
   */
  async serialize(job: Job, req: PrepareRequest): Promise<Job> {
    if (this.here.has(job) || !this.allowed(req)) return job;
    let moved: Job;
    try {
      moved = await this.prepareHere(req);
    } catch {
      // Prepared once already: the worker's job stands.
      return job;
    }
    this.pool.discard(job);
    return moved;
  }

  private async prepareHere(req: PrepareRequest): Promise<Job> {
    this.open++;
    try {
      const job = await this.inline.prepare(req);
      this.here.add(job);
      this.live.add(job);
      return job;
    } catch (err) {
      this.open--;
      throw err;
    }
  }

  async evaluate(job: Job, evaluator: WasmEvaluator, req: EvaluateRequest): Promise<Evaluated> {
    if (!this.here.has(job)) return this.pool.evaluate(job, evaluator, req);
    const started = performance.now();
    const evaluated = await this.inline.evaluate(job, evaluator, req);
    this.observe(performance.now() - started);
    this.inlined++;
    return evaluated;
  }

  shadow(job: Job, evaluator: WasmEvaluator, req: EvaluateRequest): Promise<ShadowOutcome> {
    return this.here.has(job) ? this.inline.shadow(job, evaluator, req) : this.pool.shadow(job, evaluator, req);
  }

  discard(job: Job): void {
    if (!this.here.has(job)) {
      this.pool.discard(job);
      return;
    }
    if (this.live.delete(job)) this.open--;
    this.inline.discard(job);
  }

  activate(evaluators: readonly WasmEvaluator[]): void {
    // New bundles prove themselves on workers first.
    this.fast = 0;
    this.pool.activate(evaluators);
    this.inline.activate();
  }

  activateShadow(evaluators: readonly WasmEvaluator[]): void {
    this.shadowActive = evaluators.length > 0;
    this.pool.activateShadow(evaluators);
    this.inline.activateShadow();
  }

  ready(): Promise<void> {
    return this.pool.ready();
  }

  get size(): number {
    return this.pool.size;
  }

  get restarts(): number {
    return this.pool.restarts;
  }

  held(): Promise<number[]> {
    return this.pool.held();
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
