import { Worker } from 'node:worker_threads';
import { GavelError, errorMessage } from '../../lib/errors.js';
import { Outbox } from '../../lib/outbox.js';
import { headFromWire } from '../../lib/deflate-head.js';
import type { EvaluatorLimits, WasmEvaluator } from '../evaluator.js';
import type { InputLimits } from '../input.js';
import type { DecisionRunner, Job } from '../runner.js';
import type { EvaluateRequest, Evaluated, PrepareRequest, ShadowOutcome } from '../stages.js';
import { fromWire, type FromWorker, type PreparedReply, type ToWorker, type WorkerCensus, type WorkerSetup } from './protocol.js';

const ENTRY = new URL('./worker-entry.mjs', import.meta.url);

export interface PoolOptions extends InputLimits, EvaluatorLimits {
  workers: number;
  evaluationTimeoutMs: number;
  /** Each worker's V8 young generation in MB; 0 or absent: V8's default (engine/config.ts). */
  workerYoungGenerationMb?: number;
  /** Told how long each evaluation took on its worker. */
  onEvaluated?: (ms: number) => void;
}

/**
 * Decisions one worker holds at once (parsed, being evaluated, or waiting for
 * the I/O thread between the two). Enough to keep a worker busy across the
 * round trips; few enough that a slow decision delays at most these few, while
 * every later one waits in the pool's queue for whichever worker frees first.
 */
const JOBS_PER_WORKER = 8;

/** A worker that has not started in this long is replaced. */
const STARTUP_TIMEOUT_MS = 30_000;

interface Pending {
  resolve: (value: never) => void;
  reject: (err: unknown) => void;
}

/** A decision waiting for a worker to take it. */
interface Queued {
  req: PrepareRequest;
  resolve: (job: Job) => void;
  reject: (err: unknown) => void;
}

/** One worker thread and what it owes the engine. */
interface Slot {
  index: number;
  worker: Worker;
  /** Messages to the worker, posted as one list per turn of the event loop. */
  outbox: Outbox<ToWorker>;
  pending: Map<number, Pending>;
  /** Decisions this worker holds, from prepare until dropped (at most JOBS_PER_WORKER). */
  jobs: number;
  /** Bundle keys this worker has been told to load and not to drop. */
  loaded: Set<string>;
  /** When the worker last answered, or was handed work while idle: how long its current message has run. */
  progressMs: number;
  startedMs: number;
  /** Shadow evaluations waiting for this worker to be idle (it holds their inputs). */
  shadows: QueuedShadow[];
  /** A shadow evaluation is running on it: new live decisions go elsewhere while another worker has room. */
  shadowing: boolean;
  /** It has loaded its code: from then on the evaluation timeout applies. */
  started: boolean;
  alive: boolean;
  /** Why it was stopped, when the pool stopped it. */
  stopReason?: string;
}

interface PoolJob extends Job {
  slot: Slot;
  id: number;
  /** Not yet dropped: its worker still keeps its input. */
  open: boolean;
  /** It still holds one of its worker's live places (a job handed to a shadow evaluation gives its place up). */
  live: boolean;
}

interface QueuedShadow {
  id: number;
  key: string;
  req: EvaluateRequest;
  resolve: (outcome: ShadowOutcome) => void;
  reject: (err: unknown) => void;
}

const RESTART_DELAY_MS = 1000;

/**
 * Decisions parsed and evaluated on worker threads, one wasm instance per
 * bundle per worker, so evaluation uses every core while this thread keeps the
 * serial work (usage, ledger). A decision is prepared and evaluated on the same
 * worker (its parsed input stays there); new decisions go to the worker with
 * the fewest in hand, at most JOBS_PER_WORKER each; the rest wait here, so a
 * slow decision holds up only the few its worker already took.
 *
 * Fail closed: a worker that dies, or that works on one message for longer
 * than evaluationTimeoutMs, is stopped; every decision it held is refused with
 * evaluation_unavailable (nothing recorded) and a fresh worker takes its place.
 */
export class WorkerPool implements DecisionRunner {
  private readonly options: PoolOptions;
  private readonly slots: Slot[] = [];
  private readonly queue: Queued[] = [];
  private active = new Map<string, WasmEvaluator>();
  private shadowActive = new Map<string, WasmEvaluator>();
  private readonly keys = new WeakMap<WasmEvaluator, string>();
  private nextKey = 0;
  private nextId = 0;
  private closed = false;
  private readonly watchdog: NodeJS.Timeout;
  /** Workers replaced after a crash or timeout (for metrics and tests). */
  restarts = 0;

  constructor(options: PoolOptions) {
    this.options = options;
    for (let i = 0; i < options.workers; i++) this.slots.push(this.spawn(i));
    this.watchdog = setInterval(() => this.checkTimeouts(), Math.min(250, options.evaluationTimeoutMs));
    this.watchdog.unref();
  }

  get size(): number {
    return this.slots.length;
  }

  /** Resolves once every worker has started and answered. */
  async ready(): Promise<void> {
    await this.held();
  }

  /** Prepared inputs each live worker still keeps, asked behind everything posted so far (0 once every decision is done). */
  async held(): Promise<number[]> {
    return (await this.census()).map((c) => c.held);
  }

  /** What each live worker keeps (prepared inputs, bundles loaded), asked behind everything posted so far. */
  census(): Promise<WorkerCensus[]> {
    return Promise.all(
      this.slots
        .filter((slot) => slot.alive)
        .map((slot) => {
          const id = ++this.nextId;
          return this.call<WorkerCensus>(slot, id, { t: 'ping', id });
        }),
    );
  }

  prepare(req: PrepareRequest): Promise<Job> {
    if (!this.slots.some((slot) => slot.alive)) {
      return Promise.reject(new GavelError('evaluation_unavailable', 'no evaluation worker is running; failing closed'));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      this.pump();
    });
  }

  /** No decision waits for a worker or is held by one, and no shadow evaluation runs. */
  get idle(): boolean {
    return this.queue.length === 0 && this.slots.every((slot) => slot.jobs === 0 && !slot.shadowing);
  }

  /** Hands queued decisions, oldest first, to the live workers with room, least loaded first. */
  private pump(): void {
    while (this.queue.length > 0) {
      let best: Slot | undefined;
      for (const slot of this.slots) if (slot.alive && slot.jobs < JOBS_PER_WORKER && (!best || load(slot) < load(best))) best = slot;
      if (!best) return;
      this.start(best, this.queue.shift()!);
    }
  }

  private start(slot: Slot, q: Queued): void {
    slot.jobs++;
    const { req } = q;
    const bytes = 'json' in req.input ? ownCopy(req.input.json) : undefined;
    const message = bytes ? { ...req, input: { json: bytes } } : req;
    const id = ++this.nextId;
    this.call<PreparedReply>(slot, id, { t: 'prepare', id, req: message }, bytes ? [bytes.buffer as ArrayBuffer] : []).then(
      (value) => {
        const { header, facts, binding, recalled } = value;
        const job: PoolJob = { header, facts, binding, ...(recalled ? { recalled } : {}), slot, id, open: true, live: true };
        q.resolve(job);
      },
      (err: unknown) => {
        this.free(slot);
        q.reject(err);
      },
    );
  }

  /** A decision left its worker: its place goes to the next one queued. */
  private free(slot: Slot): void {
    if (slot.jobs > 0) slot.jobs--;
    this.pump();
    this.shadowIfIdle(slot);
  }

  /**
   * A worker with no live decision in hand may take a waiting shadow evaluation, once the live work of this turn is
   * posted. runShadow checks again then; this check spares a setImmediate per answer while a busy worker has shadows waiting.
   */
  private shadowIfIdle(slot: Slot): void {
    if (slot.jobs === 0 && slot.pending.size === 0 && slot.shadows.length > 0) setImmediate(() => this.runShadow(slot));
  }

  evaluate(job: Job, evaluator: WasmEvaluator, req: EvaluateRequest): Promise<Evaluated> {
    const j = job as PoolJob;
    if (!j.open) return Promise.reject(new Error('this job was discarded'));
    const { slot } = j;
    if (!slot.alive) return Promise.reject(unavailable(slot));
    const key = this.keyOf(evaluator);
    // A job prepared before a bundle swap may name a bundle this worker has since dropped: load it again first.
    if (!slot.loaded.has(key)) this.load(slot, key, evaluator);
    return this.call<Evaluated>(slot, j.id, { t: 'evaluate', id: j.id, key, req });
  }

  /**
   * A shadow evaluation of a decided job. The job gives its live place to the
   * next decision at once; its worker takes the evaluation only when it holds
   * no live decision at all (none between its prepare and its evaluation
   * either) and nothing is pending, one at a time, so a live decision waits
   * behind at most one shadow evaluation.
   */
  shadow(job: Job, evaluator: WasmEvaluator, req: EvaluateRequest): Promise<ShadowOutcome> {
    const j = job as PoolJob;
    if (!j.open) return Promise.reject(new Error('this job was discarded'));
    const { slot } = j;
    if (!slot.alive) return Promise.reject(unavailable(slot));
    if (j.live) {
      j.live = false;
      this.free(slot);
    }
    const key = this.keyOf(evaluator);
    if (!slot.loaded.has(key)) this.load(slot, key, evaluator);
    return new Promise((resolve, reject) => {
      slot.shadows.push({ id: j.id, key, req, resolve, reject });
      this.runShadow(slot);
    });
  }

  private runShadow(slot: Slot): void {
    if (!slot.alive || slot.jobs > 0 || slot.pending.size > 0) return;
    const next = slot.shadows.shift();
    if (!next) return;
    slot.shadowing = true;
    this.call<ShadowOutcome>(slot, next.id, { t: 'shadow', id: next.id, key: next.key, req: next.req })
      .finally(() => {
        slot.shadowing = false;
      })
      .then(next.resolve, next.reject);
  }

  discard(job: Job): void {
    const j = job as PoolJob;
    if (!j.open) return;
    j.open = false;
    if (!j.slot.alive) return;
    const { slot } = j;
    // Housekeeping: it goes with the next message to this worker, or now if the worker has nothing else in hand.
    slot.outbox.later({ t: 'drop', id: j.id });
    // Closed now: nothing reads `live` again.
    if (j.live) this.free(slot);
    if (slot.jobs === 0) slot.outbox.schedule();
  }

  activate(evaluators: readonly WasmEvaluator[]): void {
    this.active = this.keyed(evaluators);
    for (const slot of this.slots) if (slot.alive) this.syncBundles(slot);
  }

  activateShadow(evaluators: readonly WasmEvaluator[]): void {
    this.shadowActive = this.keyed(evaluators);
    for (const slot of this.slots) if (slot.alive) this.syncBundles(slot);
  }

  private keyed(evaluators: readonly WasmEvaluator[]): Map<string, WasmEvaluator> {
    const next = new Map<string, WasmEvaluator>();
    for (const e of evaluators) next.set(this.keyOf(e), e);
    return next;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.watchdog);
    await Promise.all(this.slots.map((slot) => this.stop(slot, 'the engine is closing')));
  }

  private keyOf(evaluator: WasmEvaluator): string {
    let key = this.keys.get(evaluator);
    if (!key) {
      key = `${++this.nextKey}:${evaluator.bundle.name}@${evaluator.bundle.revision}`;
      this.keys.set(evaluator, key);
    }
    return key;
  }

  private load(slot: Slot, key: string, evaluator: WasmEvaluator): void {
    const { wasm: _bytes, ...bundle } = evaluator.bundle;
    slot.outbox.put({ t: 'load', load: { key, bundle, module: evaluator.compiled } });
    slot.loaded.add(key);
  }

  /** Loads what is active (live and shadow) and drops the rest, in message order behind everything already posted. */
  private syncBundles(slot: Slot): void {
    const wanted = new Map([...this.active, ...this.shadowActive]);
    for (const key of slot.loaded) {
      if (wanted.has(key)) continue;
      slot.outbox.put({ t: 'drop-bundle', key });
      slot.loaded.delete(key);
    }
    for (const [key, evaluator] of wanted) if (!slot.loaded.has(key)) this.load(slot, key, evaluator);
  }

  /** Sends a message that the worker answers under the same id (posted with the others of this turn). */
  private call<T>(slot: Slot, id: number, message: ToWorker, transfer: ArrayBuffer[] = []): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (slot.pending.size === 0) slot.progressMs = Date.now();
      slot.pending.set(id, { resolve: resolve as (value: never) => void, reject });
      slot.outbox.put(message, transfer);
    });
  }

  /** A message the structured clone refused: its caller is told, nothing else in its list is held up. */
  private refused(slot: Slot, message: ToWorker, err: unknown): void {
    if (!('id' in message)) return;
    const pending = slot.pending.get(message.id);
    if (!pending) return;
    slot.pending.delete(message.id);
    pending.reject(err);
  }

  private spawn(index: number): Slot {
    const setup: WorkerSetup = {
      limits: {
        maxInputBytes: this.options.maxInputBytes,
        maxDepth: this.options.maxDepth,
        memoryInitialPages: this.options.memoryInitialPages,
        memoryMaxPages: this.options.memoryMaxPages,
      },
    };
    const young = this.options.workerYoungGenerationMb ?? 0;
    const worker = new Worker(ENTRY, {
      workerData: setup,
      name: `gavel-eval-${index}`,
      ...(young > 0 ? { resourceLimits: { maxYoungGenerationSizeMb: young } } : {}),
    });
    const now = Date.now();
    const slot: Slot = {
      index,
      worker,
      outbox: new Outbox<ToWorker>(
        (messages, transfer) => worker.postMessage(messages, transfer),
        (message, err) => this.refused(slot, message, err),
      ),
      pending: new Map(),
      jobs: 0,
      loaded: new Set(),
      progressMs: now,
      startedMs: now,
      shadows: [],
      shadowing: false,
      started: false,
      alive: true,
    };
    worker.on('message', (list: FromWorker[]) => {
      for (const m of list) this.onMessage(slot, m);
    });
    worker.on('error', (err) => {
      slot.stopReason ??= `it failed: ${errorMessage(err)}`;
    });
    worker.on('exit', (code) => this.onExit(slot, code));
    this.syncBundles(slot);
    return slot;
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    slot.progressMs = Date.now();
    if (m.t === 'started') {
      slot.started = true;
      return;
    }
    const pending = slot.pending.get(m.id);
    if (!pending) return;
    slot.pending.delete(m.id);
    if (m.t === 'evaluated') {
      this.options.onEvaluated?.(m.ms);
      m.value.record.payloadHead = headFromWire(m.head, m.value.record.payloadJcs);
    }
    if (m.t === 'fault') pending.reject(fromWire(m.fault));
    else pending.resolve((m.t === 'pong' ? m.census : m.value) as never);
    // Idle now: a waiting shadow evaluation goes once the live work this answer sets off has been posted.
    this.shadowIfIdle(slot);
  }

  private onExit(slot: Slot, code: number): void {
    slot.alive = false;
    slot.stopReason ??= `it exited with code ${code}`;
    const err = unavailable(slot);
    for (const pending of slot.pending.values()) pending.reject(err);
    slot.pending.clear();
    for (const s of slot.shadows.splice(0)) s.reject(err);
    slot.jobs = 0;
    if (this.closed) {
      for (const q of this.queue.splice(0)) q.reject(new GavelError('evaluation_unavailable', 'the engine is closing; failing closed'));
      return;
    }
    this.restarts++;
    // What this worker held is refused; what waits in the queue goes to the workers still running.
    this.pump();
    // A worker that dies as it starts would otherwise be restarted in a tight loop.
    const delay = Date.now() - slot.startedMs < RESTART_DELAY_MS ? RESTART_DELAY_MS : 0;
    const timer = setTimeout(() => {
      if (this.closed || this.slots[slot.index] !== slot) return;
      this.slots[slot.index] = this.spawn(slot.index);
      this.pump();
    }, delay);
    timer.unref();
  }

  private checkTimeouts(): void {
    const now = Date.now();
    for (const slot of this.slots) {
      if (!slot.alive) continue;
      if (!slot.started) {
        if (now - slot.startedMs > STARTUP_TIMEOUT_MS) void this.stop(slot, `it did not start within ${STARTUP_TIMEOUT_MS / 1000} s`);
        continue;
      }
      if (slot.pending.size === 0 || now - slot.progressMs <= this.options.evaluationTimeoutMs) continue;
      void this.stop(slot, `one decision ran past engine.evaluationTimeoutMs (${this.options.evaluationTimeoutMs} ms)`);
    }
  }

  private async stop(slot: Slot, reason: string): Promise<void> {
    if (!slot.alive) return;
    slot.stopReason ??= reason;
    await slot.worker.terminate();
  }
}

/**
 * How busy a worker is for a new live decision: a shadow evaluation running
 * counts as one decision in hand, so an idle worker is preferred to it but live
 * traffic still spreads over every worker (counted as full, it would pile
 * every live decision onto the others while shadows keep one worker busy).
 */
function load(slot: Slot): number {
  return slot.jobs + (slot.shadowing ? 1 : 0);
}

function unavailable(slot: Slot): GavelError {
  return new GavelError(
    'evaluation_unavailable',
    `evaluation worker ${slot.index} stopped (${slot.stopReason ?? 'unknown reason'}) with this decision in it; nothing was recorded`,
  );
}

/** The bytes in an ArrayBuffer of their own, so posting transfers exactly them (a Buffer may view a larger pooled one). */
function ownCopy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
